"""Who may do what (services/policy.py): the decision table, and every service that asks it.

An unverified owner reads the negotiations operators open with them and marks them read, but
sends nothing, uploads nothing and changes nothing about the thread until verified."""

from __future__ import annotations

import io

import pytest

from arbibase_chat.services import accounts, attachments, inbox, messages, policy, reads, threads
from arbibase_chat.services.errors import (
    Forbidden,
    OperatorsOnly,
    OwnersOnly,
    VerifyOwnership,
)
from tests import factories, files
from tests.factories import Pair

WRITES: tuple[policy.ThreadAction, ...] = (
    "send",
    "upload",
    "change_status",
    "rename",
    "tag",
    "offer",
    "set_stage",
)
READS: tuple[policy.ThreadAction, ...] = ("read", "mark_read")


def test_the_decision_table():
    for action in READS:
        assert policy.may(action, is_owner=True, verified=False)
    for action in WRITES:
        assert not policy.may(action, is_owner=True, verified=False), action
        assert policy.may(action, is_owner=True, verified=True), action
        assert policy.may(action, is_owner=False, verified=False), action  # the operator
    with pytest.raises(ValueError, match="unknown"):
        policy.may("delete", is_owner=False, verified=True)  # type: ignore[arg-type]
    assert set(policy.VERIFIED_OWNER) == set(WRITES)


def _refusals(pair: Pair, user_id) -> dict[str, Forbidden | None]:
    db = pair.db
    attempts = {
        "send": lambda: messages.send_message(
            user_id=user_id, thread_id=pair.thread_id, body="hello", db=db
        ),
        "upload": lambda: attachments.store_attachment(
            user_id=user_id,
            thread_id=pair.thread_id,
            filename="lease.pdf",
            source=io.BytesIO(files.pdf()),
            db=db,
        ),
        "check_upload": lambda: attachments.check_upload(
            user_id=user_id, thread_id=pair.thread_id, db=db
        ),
        "change_status": lambda: threads.update_thread(
            user_id=user_id, thread_id=pair.thread_id, status="archived", db=db
        ),
        "rename": lambda: threads.update_thread(
            user_id=user_id, thread_id=pair.thread_id, subject="Mine now", db=db
        ),
        "tag": lambda: threads.update_thread(
            user_id=user_id, thread_id=pair.thread_id, add_tags=["x"], db=db
        ),
        "untag": lambda: threads.update_thread(
            user_id=user_id, thread_id=pair.thread_id, remove_tags=["x"], db=db
        ),
    }
    found: dict[str, Forbidden | None] = {}
    for name, attempt in attempts.items():
        try:
            attempt()
            found[name] = None
        except Forbidden as exc:
            found[name] = exc
    return found


def test_an_unverified_owner_reads_but_takes_no_part(db):
    pair = Pair(db, owner_verified=False)
    messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="Hi", db=db)
    before = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)

    refused = _refusals(pair, pair.owner.id)
    assert all(isinstance(exc, VerifyOwnership) for exc in refused.values()), refused
    assert {exc.code for exc in refused.values() if exc} == {"verify_ownership"}
    assert "before replying" in str(refused["send"])
    assert "before sharing files" in str(refused["upload"])
    # Nothing changed, nothing stored.
    after = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    assert (after.status, after.subject, after.tags) == (before.status, before.subject, [])
    assert attachments._root().joinpath(str(pair.thread_id)).exists() is False
    # Reading and marking read are theirs.
    page = messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert [m.body for m in page] == ["Hi"]
    reads.mark_read(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert (
        inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db).unread_count == 0
    )

    # Once staff verified them, every one of those goes through.
    accounts.set_verified(user_id=pair.owner.id, verified=True, db=db)
    assert _refusals(pair, pair.owner.id) == dict.fromkeys(refused)


def test_the_operator_of_an_unverified_owner_is_not_held_back(db):
    pair = Pair(db, owner_verified=False)
    assert _refusals(pair, pair.operator.id) == dict.fromkeys(
        ("send", "upload", "check_upload", "change_status", "rename", "tag", "untag")
    )


def test_account_roles_have_their_own_codes(db):
    pair = Pair(db)
    landlord = factories.user(db, "owner", verified=False)
    with pytest.raises(OperatorsOnly) as err:
        threads.get_or_create_thread(
            user_id=landlord.id, property_id=pair.property.id, owner_id=pair.owner.id, db=db
        )
    assert err.value.code == "operators_only"
    with pytest.raises(OwnersOnly) as owners:
        factories.listing(db, pair.operator)
    assert owners.value.code == "owners_only"
    factories.listing(db, landlord)  # an unverified owner may list (verification is per listing)
