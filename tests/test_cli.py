"""The staff commands of `python -m arbibase_chat.cli`, run through `main(argv)` on both
backends: messages, exit codes, and what they change."""

from __future__ import annotations

import io

import pytest
from sqlalchemy.engine import Engine

from arbibase_chat import cli
from arbibase_chat.config import get_settings
from arbibase_chat.services import accounts, verification
from tests import files
from tests.factories import user


@pytest.fixture
def run(db: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    # The commands use the configured database, as they do at a shell.
    monkeypatch.setattr(get_settings(), "database_url", db.url.render_as_string(False))

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_verify_owner_directly_and_again(db: Engine, run) -> None:
    owner = user(db, "owner", verified=False)
    code, out, _ = run("verify-owner", owner.email)
    assert code == 0 and "is verified" in out
    assert accounts.get_user(user_id=owner.id, db=db).verified
    code, out, _ = run("verify-owner", owner.email)
    assert code == 0 and "verified already" in out


def test_verify_owner_approves_and_rejects_a_pending_claim(db: Engine, run) -> None:
    owner = user(db, "owner", verified=False)
    code, _, err = run("verify-owner", owner.email, "--reject", "Blurry scan")
    assert code == 1 and "no verification claim under review" in err
    verification.submit_claim(
        user_id=owner.id, filename="deed.pdf", source=io.BytesIO(files.pdf()), db=db
    )
    code, out, _ = run("verify-owner", owner.email, "--reject", "Blurry scan")
    assert code == 0 and "Blurry scan" in out
    mine = verification.my_claim(user_id=owner.id, db=db)
    assert mine is not None and mine.status == "rejected"
    verification.submit_claim(
        user_id=owner.id, filename="deed.pdf", source=io.BytesIO(files.pdf()), db=db
    )
    assert run("verify-owner", owner.email)[0] == 0
    mine = verification.my_claim(user_id=owner.id, db=db)
    assert mine is not None and mine.status == "approved" and mine.has_proof


def test_unknown_emails_and_bad_tiers_fail_clearly(db: Engine, run) -> None:
    for argv in (
        ("verify-owner", "ghost@example.com"),
        ("make-staff", "ghost@example.com"),
        ("set-tier", "ghost@example.com", "pro"),
    ):
        code, out, err = run(*argv)
        assert code == 1 and "No account with the e-mail address ghost@example.com" in err
        assert out == ""
    person = user(db, "operator")
    code, _, err = run("set-tier", person.email, "gold")
    assert code == 1 and "Tier must be one of: beta, pro, premium" in err
    code, _, err = run("verify-owner", person.email)
    assert code == 1 and "is not an owner account" in err
    with pytest.raises(SystemExit) as exited:
        run("verify-owner")
    assert exited.value.code == 2


def test_make_staff_and_set_tier(db: Engine, run) -> None:
    person = user(db, "operator")
    code, out, _ = run("make-staff", person.email)
    assert code == 0 and "staff" in out
    code, out, _ = run("set-tier", person.email.upper(), "premium")
    assert code == 0 and "premium" in out
    me = accounts.get_user(user_id=person.id, db=db)
    assert me.is_staff and me.tier == "premium"


def test_mail_in_says_what_is_missing(run, monkeypatch: pytest.MonkeyPatch) -> None:
    # The listener itself runs in tests/mail_in/test_cli_mail_in.py (a real process).
    settings = get_settings()
    monkeypatch.setattr(settings, "email_reply_domain", None)
    code, out, err = run("mail-in", "--port", "2525")
    assert code == 1 and out == "" and "set EMAIL_REPLY_DOMAIN" in err
    monkeypatch.setattr(settings, "email_reply_domain", "reply.example.com")
    monkeypatch.setattr(settings, "inbound_smtp_port", None)
    code, out, err = run("mail-in")
    assert code == 1 and out == "" and "set INBOUND_SMTP_PORT or pass --port" in err
    with pytest.raises(SystemExit) as exited:
        run("mail-in", "--port", "smtp")
    assert exited.value.code == 2
