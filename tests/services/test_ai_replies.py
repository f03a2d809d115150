"""AI reply suggestions (services/ai_replies.py): intent rules, the ROI rent ceiling, the
templates, parsing a provider's answer, and the service's checks on a real database."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from arbibase_chat.adapters.ai import ProviderError
from arbibase_chat.services import ai_replies, messages, offers, roi, threads
from arbibase_chat.services.ai_replies import Context, Suggestion
from arbibase_chat.services.errors import (
    NotFound,
    OperatorsOnly,
    RateLimited,
    UpgradeRequired,
)
from tests import factories
from tests.services.test_offers import TERMS

# --- intent rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("What deposit would you need?", "deposit"),
        ("The security deposit is two months.", "deposit"),
        ("Is the rent negotiable?", "price"),
        ("I'm asking $2,800.", "price"),
        ("I want at least a 24-month lease", "term"),
        ("When is the start date?", "term"),
        ("Do you carry liability insurance?", "insurance"),
        ("Would you like to come by and see the place on Saturday?", "viewing"),
        ("Happy to schedule a walkthrough", "viewing"),
        ("OK, I accept your offer.", "accept"),
        ("Sounds good, let's do it", "accept"),
        ("Sorry, I can't accept that.", "decline"),
        ("I'm not interested, thanks", "decline"),
        ("How about $2,600 and we have a deal?", "counter"),  # a counter beats "deal"
        ("Would you do 2,650?", "counter"),
        ("I can't accept that, but I could do $2,700", "counter"),
        ("What's the earliest you could sign?", "question"),
        ("Anything else?", "question"),
        ("Hello there", "other"),
        ("", "other"),
    ],
)
def test_recognize(text, intent):
    assert ai_replies.recognize(text) == intent


# --- the rent ceiling ---------------------------------------------------------------------------

# By hand: 60 % of 365/12 nights = 18.25 booked nights at $100 = $1,825 gross, no fees or
# cleaning; fixed = rent + $250, so net = 1,575 - R; startup = 3,000 + 10,000 + 1 * R.
# Cash-on-cash >= 20 %: 1200 * (1575 - R) >= 20 * (13000 + R) <=> 1,630,000 >= 1,220 R
# <=> R <= 1336.07: the ceiling is $1,336.
SIMPLE = {
    "monthlyRent": 1000,
    "adr": 100,
    "occupancyPct": 60,
    "avgStayNights": 3,
    "platformFeePct": 0,
    "utilities": 250,
    "deposit": 3000,
    "furnishingCost": 10000,
    "upfrontRentMonths": 1,
}


def _coc(inputs: dict, rent: int) -> Decimal:
    coc = roi.compute({**inputs, "monthlyRent": rent}).cash_on_cash_pct
    assert coc is not None
    return coc


def test_max_rent_by_hand():
    assert ai_replies.max_rent(SIMPLE, target_pct=20) == 1336
    assert roi.compute({**SIMPLE, "monthlyRent": 1336}).cash_on_cash_pct == Decimal("20.01")
    assert _coc(SIMPLE, 1337) < 20


def test_max_rent_other_targets():
    # 0 %: net >= 0 <=> R <= 1575. 10 %: 1200 * (1575 - R) >= 10 * (13000 + R)
    # <=> 1,760,000 >= 1,210 R <=> R <= 1454.55.
    assert ai_replies.max_rent(SIMPLE, target_pct=0) == 1575
    assert ai_replies.max_rent(SIMPLE, target_pct=10) == 1454
    # Unreachable even rent-free: 1200 * 1575 < 1000 * 13000.
    assert ai_replies.max_rent(SIMPLE, target_pct=1000) is None


def test_max_rent_undefined_without_startup_cost():
    free = {**SIMPLE, "deposit": 0, "furnishingCost": 0, "upfrontRentMonths": 0}
    assert ai_replies.max_rent(free, target_pct=20) is None


def test_max_rent_matches_compute_on_realistic_inputs():
    inputs = {
        "adr": 165.5,
        "occupancyPct": 72,
        "avgStayNights": 3.5,
        "cleaningFeePerStay": 95,
        "cleaningCostPerStay": 70,
        "platformFeePct": 3,
        "managementPct": 10,
        "utilities": 240,
        "internet": 65,
        "insurance": 90,
        "supplies": 80,
        "software": 40,
        "deposit": 2500,
        "furnishingCost": 14000,
        "setupCost": 1800,
        "upfrontRentMonths": 2,
    }
    ceiling = ai_replies.max_rent(inputs, target_pct=25)
    assert ceiling is not None
    assert _coc(inputs, ceiling) >= 25
    assert _coc(inputs, ceiling + 1) < 25


def _ctx(**kw) -> Context:
    base: dict = {
        "property_title": "Bayview Loft",
        "city": "Miami",
        "asked_rent": 1500.0,
        "owner_name": "Olivia",
    }
    base.update(kw)
    return Context(**base)


def test_clamp_replaces_a_counter_above_the_ceiling_and_drops_the_rest():
    ctx = _ctx(ceiling=1336, known_rents=frozenset({1500}))
    drafts = [
        Suggestion("How about $1,450 a month?", "counter"),
        Suggestion("Rent of $1,500 works, let's sign.", "accept"),
        Suggestion("Could you do $1,300/mo?", "counter"),
        Suggestion("The deposit would be $3,000.", "deposit"),  # not a rent
    ]
    assert ai_replies.clamp(drafts, ctx) == [
        Suggestion("How about $1,325 a month?", "counter"),
        Suggestion("Could you do $1,300/mo?", "counter"),
        Suggestion("The deposit would be $3,000.", "deposit"),
    ]


def test_clamp_without_numbers_keeps_only_rents_on_the_table():
    ctx = _ctx(ceiling=None, known_rents=frozenset({1500}))
    drafts = [
        Suggestion("How about $1,200 a month?", "counter"),
        Suggestion("Is $1,500 per month firm?", "question"),
        Suggestion("Could you do $1.2k/mo?", "counter"),
    ]
    assert ai_replies.clamp(drafts, ctx) == [Suggestion("Is $1,500 per month firm?", "question")]


# --- templates ----------------------------------------------------------------------------------


def _lines(*texts: str, kind: str = "text") -> tuple[ai_replies.Line, ...]:
    return tuple(ai_replies.Line("owner", "Olivia", t, kind) for t in texts)


def test_templates_for_the_deposit_use_the_operators_planned_deposit():
    found = ai_replies.template_suggestions(
        _ctx(lines=_lines("What deposit can you pay?"), inputs=SIMPLE, ceiling=1336)
    )
    assert 1 <= len(found) <= 3
    assert found[0] == Suggestion(
        "My numbers plan for a $3,000 security deposit. Would that work for you?", "deposit"
    )


def test_templates_without_numbers_propose_no_rent():
    found = ai_replies.template_suggestions(_ctx(lines=_lines("Is the rent negotiable?")))
    assert len(found) == 3
    assert not any("$" in s.text for s in found)
    assert found[0].intent == "price"


def test_templates_counter_at_the_ceiling_when_the_ask_is_above_it():
    found = ai_replies.template_suggestions(
        _ctx(lines=_lines("The rent is $1,500, firm."), inputs=SIMPLE, ceiling=1336)
    )
    counters = [s for s in found if s.intent == "counter"]
    assert counters and all("$1,325 a month" in s.text for s in counters)
    assert "$1,500" in counters[1].text  # the ask is quoted, not proposed


def test_templates_accept_a_rent_under_the_ceiling():
    found = ai_replies.template_suggestions(
        _ctx(lines=_lines("Would you do $1,200?"), asked_rent=1200.0, inputs=SIMPLE, ceiling=1336)
    )
    assert found[0] == Suggestion(
        "$1,200 a month works on my numbers. Shall we put it in writing?", "accept"
    )
    assert found[1].intent == "counter" and "$1,125 a month" in found[1].text


@pytest.mark.parametrize(
    ("text", "first_intent"),
    [
        ("Do you have insurance?", "insurance"),
        ("Can you come see it Friday?", "viewing"),
        ("I accept.", "accept"),
        ("Sorry, we decline.", "question"),
        ("I want a two-year lease", "term"),
        ("Hi!", "question"),
    ],
)
def test_templates_answer_each_intent(text, first_intent):
    found = ai_replies.template_suggestions(_ctx(lines=_lines(text)))
    assert len(found) == 3 and found[0].intent == first_intent
    assert all(s.intent in ai_replies.INTENTS for s in found)


def test_templates_answer_an_owners_offer_as_a_counter():
    lines = _lines("Counter-offer v2: $1,800/mo", kind="offer")
    found = ai_replies.template_suggestions(_ctx(lines=lines, inputs=SIMPLE, ceiling=1336))
    assert found[0].intent == "counter"


# --- provider answers ---------------------------------------------------------------------------

GOOD = {"suggestions": [{"text": "Sure, Tuesday works.", "intent": "viewing"}]}


@pytest.mark.parametrize(
    "answer",
    [
        json.dumps(GOOD),
        "```json\n" + json.dumps(GOOD) + "\n```",
        "Here you go:\n```\n" + json.dumps(GOOD["suggestions"]) + "\n```\nHope it helps!",
        "Sure! " + json.dumps(GOOD) + " Anything else?",
    ],
)
def test_parse_suggestions_reads_json_fenced_or_not(answer):
    assert ai_replies.parse_suggestions(answer) == [Suggestion("Sure, Tuesday works.", "viewing")]


@pytest.mark.parametrize(
    "answer",
    ["", "no JSON here", "{not json", '{"suggestions": "nope"}', "[1, 2, 3]", '{"x": []}'],
)
def test_parse_suggestions_ignores_junk(answer):
    assert ai_replies.parse_suggestions(answer) == []


def test_parse_suggestions_caps_count_length_and_unknown_intents():
    items = [{"text": f"Reply {i}", "intent": "counter"} for i in range(6)]
    items.insert(0, {"text": "x " * 1000, "intent": "MAGIC"})
    items.insert(1, {"text": "Reply 0", "intent": "counter"})  # a duplicate
    items.insert(1, {"intent": "price"})  # no text
    found = ai_replies.parse_suggestions(json.dumps({"suggestions": items}))
    assert len(found) == 3
    assert found[0].intent == "question" and len(found[0].text) <= ai_replies.MAX_TEXT_CHARS
    assert [s.text for s in found[1:]] == ["Reply 0", "Reply 1"]


# --- the service --------------------------------------------------------------------------------


class FakeProvider:
    name = "openai-compatible:fake"

    def __init__(self, answer: str | None = None, error: bool = False) -> None:
        self.answer, self.error = answer, error
        self.prompts: list[list[dict[str, str]]] = []

    def complete(self, chat: list[dict[str, str]]) -> str:
        self.prompts.append(chat)
        if self.error:
            raise ProviderError("the AI provider timed out")
        return self.answer or ""


@pytest.fixture
def premium(db):
    operator = factories.user(db, "operator", tier="premium", name="Paula Premium")
    owner = factories.user(db, "owner", name="Olivia Owner")
    prop = factories.listing(db, owner, title="Bayview Loft")
    thread = threads.get_or_create_thread(
        user_id=operator.id, property_id=prop.id, owner_id=owner.id, db=db
    )
    return operator, owner, prop, thread.id


def _say(db, user, thread_id, text):
    messages.send_message(user_id=user.id, thread_id=thread_id, body=text, db=db)


def test_templates_for_a_premium_operator(db, premium):
    operator, owner, _prop, tid = premium
    _say(db, operator, tid, "Hi! I'm interested in the loft.")
    _say(db, owner, tid, "Great. What deposit can you offer?")
    found = ai_replies.suggest_replies(user_id=operator.id, thread_id=tid, provider=None, db=db)
    assert found.provider == "templates" and found.notice is None
    assert found.suggestions[0].intent == "deposit"
    assert "one month's rent" in found.suggestions[0].text  # no snapshot: no invented amount


def test_the_operators_snapshot_sets_the_ceiling(db, premium):
    operator, owner, prop, tid = premium
    offers.send_offer(
        user_id=operator.id,
        property_id=prop.id,
        terms={**TERMS, "monthlyRent": 1500},
        roi_inputs={**SIMPLE, "monthlyRent": 1500},
        db=db,
    )
    _say(db, owner, tid, "I need $1,700 a month for this one.")
    ctx = ai_replies.build_context(user_id=operator.id, thread_id=tid, db=db)
    assert ctx.ceiling == 1336 and ctx.asked_rent == 3500.0
    assert ctx.offer is not None and ctx.offer["made_by_role"] == "operator"
    provider = FakeProvider(
        json.dumps(
            {
                "suggestions": [
                    {"text": "Could you do $1,600 a month?", "intent": "counter"},
                    {"text": "I accept $1,700 per month.", "intent": "accept"},
                    {"text": "When can I visit?", "intent": "viewing"},
                ]
            }
        )
    )
    found = ai_replies.suggest_replies(user_id=operator.id, thread_id=tid, provider=provider, db=db)
    assert found.provider == "openai-compatible:fake" and found.notice is None
    assert [s.as_dict() for s in found.suggestions] == [
        {"text": "Could you do $1,325 a month?", "intent": "counter"},
        {"text": "When can I visit?", "intent": "viewing"},
    ]
    system, user = provider.prompts[0]
    assert "$1,336" in system["content"] and "Bayview Loft, Miami" in user["content"]
    assert "Olivia Owner: I need $1,700 a month" in user["content"]


def test_a_failing_provider_gives_a_notice_not_an_error(db, premium):
    operator, owner, _prop, tid = premium
    _say(db, owner, tid, "Any questions?")
    failed = ai_replies.suggest_replies(
        user_id=operator.id, thread_id=tid, provider=FakeProvider(error=True), db=db
    )
    assert failed.suggestions == () and failed.notice == ai_replies.NOTICE_UNAVAILABLE
    junk = ai_replies.suggest_replies(
        user_id=operator.id, thread_id=tid, provider=FakeProvider("lol"), db=db
    )
    assert junk.suggestions == () and junk.notice == ai_replies.NOTICE_NOTHING


def test_only_the_operator_of_a_premium_thread(db, premium):
    _operator, owner, _prop, tid = premium
    stranger = factories.user(db, "operator", tier="premium")
    with pytest.raises(OperatorsOnly):
        ai_replies.suggest_replies(user_id=owner.id, thread_id=tid, provider=None, db=db)
    with pytest.raises(NotFound):
        ai_replies.suggest_replies(user_id=stranger.id, thread_id=tid, provider=None, db=db)
    pro = factories.user(db, "operator", tier="pro")
    prop = factories.listing(db, owner)
    pro_tid = threads.get_or_create_thread(
        user_id=pro.id, property_id=prop.id, owner_id=owner.id, db=db
    ).id
    with pytest.raises(UpgradeRequired) as refused:
        ai_replies.suggest_replies(user_id=pro.id, thread_id=pro_tid, provider=None, db=db)
    assert refused.value.feature == "ai_suggestions"
    assert refused.value.message == "AI reply suggestions are included in the Premium plan."


def test_rate_limited_per_user(db, premium):
    operator, _owner, _prop, tid = premium
    for _ in range(5):  # AI_RATE_BURST
        ai_replies.suggest_replies(user_id=operator.id, thread_id=tid, provider=None, db=db)
    with pytest.raises(RateLimited) as limited:
        ai_replies.suggest_replies(user_id=operator.id, thread_id=tid, provider=None, db=db)
    assert 0 < limited.value.retry_after <= 10
