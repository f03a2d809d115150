"""Tier gating (services/policy.py): a thread's features follow its operator's plan, for both
parties; uploads, attached files and links are refused below Pro; offers work on every plan."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.services import (
    accounts,
    attachments,
    inbox,
    messages,
    offers,
    policy,
    threads,
)
from arbibase_chat.services.errors import NotFound, UpgradeRequired
from tests import factories, files


def _pair(db, tier: str):
    operator = factories.user(db, "operator", tier=tier)
    owner = factories.user(db, "owner", tier="premium")  # an owner's own tier never counts
    prop = factories.listing(db, owner)
    thread = threads.get_or_create_thread(
        user_id=operator.id, property_id=prop.id, owner_id=owner.id, db=db
    )
    return operator, owner, prop, thread.id


def _upload(db, user, thread_id):
    return attachments.store_attachment(
        user_id=user.id,
        thread_id=thread_id,
        filename="lease.pdf",
        source=io.BytesIO(files.pdf()),
        db=db,
    )


def test_the_default_matrix() -> None:
    assert policy.tier_features("beta") == {"text", "offers"}
    assert policy.tier_features("pro") == {"text", "offers", "attachments"}
    assert policy.tier_features("premium") == set(policy.FEATURES)
    assert policy.upgrade_message("attachments", is_operator=True) == (
        "File sharing is included in the Pro plan."
    )
    assert policy.upgrade_message("attachments", is_operator=False) == (
        "The operator's plan does not include file sharing."
    )
    assert policy.upgrade_message("ai_suggestions", is_operator=True).endswith("Premium plan.")


def test_a_beta_thread_shares_no_files_for_either_party(db) -> None:
    operator, owner, _, thread_id = _pair(db, "beta")
    for user, whose in ((operator, "is included in the Pro plan"), (owner, "operator's plan")):
        with pytest.raises(UpgradeRequired) as refused:
            attachments.check_upload(user_id=user.id, thread_id=thread_id, db=db)
        assert refused.value.feature == "attachments" and whose in refused.value.message
        with pytest.raises(UpgradeRequired):
            _upload(db, user, thread_id)
        with pytest.raises(UpgradeRequired):
            messages.send_message(
                user_id=user.id,
                thread_id=thread_id,
                body="see this",
                attachment_url="https://example.com/lease.pdf",
                db=db,
            )
    # Text and offers are every plan's.
    messages.send_message(user_id=owner.id, thread_id=thread_id, body="hello", db=db)
    sent = offers.send_offer(
        user_id=operator.id,
        property_id=inbox.get_thread(user_id=operator.id, thread_id=thread_id, db=db).property_id,
        terms={
            "monthlyRent": 2000,
            "leaseMonths": 12,
            "startDate": (utcnow().date() + timedelta(days=30)).isoformat(),
        },
        db=db,
    )
    assert sent.thread_id == thread_id  # with its PDF: part of the offer


def test_pro_and_premium_threads_share_files_and_a_tier_change_applies_at_once(db) -> None:
    operator, owner, _, thread_id = _pair(db, "pro")
    file = _upload(db, owner, thread_id)
    messages.send_message(
        user_id=owner.id, thread_id=thread_id, body="", attachment_id=file.id, db=db
    )
    accounts.set_tier(email=operator.email, tier="beta", db=db)
    with pytest.raises(UpgradeRequired):
        _upload(db, owner, thread_id)
    accounts.set_tier(email=operator.email, tier="premium", db=db)
    _upload(db, operator, thread_id)


def test_the_matrix_is_configurable(db, monkeypatch) -> None:
    operator, _, _, thread_id = _pair(db, "beta")
    settings = get_settings()
    monkeypatch.setattr(
        settings,
        "tier_features",
        type(settings).model_validate({"tier_features": {"beta": ["attachments"]}}).tier_features,
    )
    assert policy.tier_features("beta") == {"text", "offers", "attachments"}
    _upload(db, operator, thread_id)


def test_unknown_features_or_tiers_in_the_configuration_are_refused() -> None:
    settings_class = type(get_settings())
    with pytest.raises(ValueError, match="unknown features"):
        settings_class.model_validate({"tier_features": {"beta": ["teleport"]}})
    with pytest.raises(ValueError, match="unknown tiers"):
        settings_class.model_validate({"tier_features": {"gold": ["text"]}})


def test_what_a_thread_offers_its_viewer(db) -> None:
    operator, owner, _, thread_id = _pair(db, "beta")
    mine = threads.thread_features(user_id=operator.id, thread_id=thread_id, db=db)
    theirs = threads.thread_features(user_id=owner.id, thread_id=thread_id, db=db)
    assert mine.tier == theirs.tier == "beta"
    assert set(mine.features) == {"text", "offers"}
    assert mine.missing["attachments"] == "File sharing is included in the Pro plan."
    assert theirs.missing["attachments"] == "The operator's plan does not include file sharing."
    stranger = factories.user(db, "operator")
    with pytest.raises(NotFound):
        threads.thread_features(user_id=stranger.id, thread_id=thread_id, db=db)
