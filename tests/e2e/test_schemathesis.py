"""Schemathesis against the live server's own `/api/openapi.json` (bounded: 25 examples per
operation and phase), as a verified owner with a real thread and file so that the calls
reach the services, not only the 404s.

Checks: no 5xx, every status code / content type / header / body as documented, schema-invalid
input refused, unknown methods answered 405 with Allow, and auth not ignored. Not checked:
`positive_data_acceptance` ("schema-valid input is accepted"): the services hold rules a JSON
Schema cannot say (blank after trimming, no NUL, a closed thread, the same attachment twice),
and refuse those with 4xx by design.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from arbibase_chat import db as dbmod
from arbibase_chat.services import accounts, email_tokens
from tests import files
from tests.e2e.test_api_live import negotiation

pytestmark = [pytest.mark.slow]

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "missing_required_header",
)
MAX_EXAMPLES = 25
START = (date.today() + timedelta(days=30)).isoformat()


def test_schemathesis_finds_nothing(
    live_server: str, e2e_database_url: str, tmp_path: Path, artifacts_dir: Path
) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as api:
        n = negotiation(api)
        # The owner is verified (as staff would), so sends and listings succeed as that user.
        accounts.set_verified(
            user_id=uuid.UUID(n["owner"]["id"]),
            verified=True,
            db=dbmod.get_engine(e2e_database_url),
        )
        # ...and the operator is on Pro, whose threads share files (tier gating).
        accounts.set_tier(
            email=n["operator"]["email"], tier="pro", db=dbmod.get_engine(e2e_database_url)
        )
        upload = api.post(
            f"/api/messages/{n['thread_id']}/attachments",
            files={"file": ("front.png", files.image("PNG"), "image/png")},
            headers=n["owner_auth"],
        )
        assert upload.status_code == 201, upload.text
        message = api.post(
            f"/api/messages/{n['thread_id']}", json={"text": "hello"}, headers=n["owner_auth"]
        )
        assert message.status_code == 200, message.text
        offer = api.post(
            "/api/offers",
            json={
                "propertyId": n["property_id"],
                "terms": {"monthlyRent": 2000, "leaseMonths": 12, "startDate": START},
            },
            headers=n["operator_auth"],
        )
        assert offer.status_code == 201, offer.text
    # The owner's unsubscribe token for the thread, as an e-mail would carry it.
    with dbmod.write_session(dbmod.get_engine(e2e_database_url)) as session:
        token = email_tokens.issue_in(
            session, user_id=uuid.UUID(n["owner"]["id"]), thread_id=uuid.UUID(n["thread_id"])
        )
    # Ids in paths are real ones (or, for claims, a well-formed stranger's): random path text
    # with a newline never reaches the app in production — Reflex's own outer router answers
    # it with a plain-text 404 before any of our code runs (see the closing note of #11).
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f'"path.threadId" = {json.dumps(n["thread_id"])}\n'
        f'"path.attachmentId" = {json.dumps(upload.json()["id"])}\n'
        f'"path.messageId" = {json.dumps(message.json()["id"])}\n'
        f'"path.offerId" = {json.dumps(offer.json()["offerId"])}\n'
        f'"path.claimId" = {json.dumps(str(uuid.uuid4()))}\n'
        f'"path.token" = {json.dumps(token)}\n'
    )
    cli = Path(sys.executable).with_name("schemathesis")
    assert cli.exists() or shutil.which("schemathesis"), "schemathesis is not installed"
    command = [
        str(cli if cli.exists() else "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{live_server}/api/openapi.json",
        "--header",
        n["owner_auth"]["Authorization"].join(("Authorization: ", "")),
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--workers",
        "2",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(artifacts_dir / "schemathesis-junit.xml"),
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=240, cwd=tmp_path, check=False
    )
    (artifacts_dir / "schemathesis.log").write_text(out.stdout + "\n" + out.stderr)
    summary = out.stdout[-6000:]
    print(summary)
    assert out.returncode == 0, f"schemathesis found problems:\n{summary}\n{out.stderr[-2000:]}"
    assert "41/41" in out.stdout  # every operation of the schema was tested
