"""Text rules every service applies: what is kept, what is dropped, what is refused."""

from __future__ import annotations

import pytest

from arbibase_chat.services import validation
from arbibase_chat.services.errors import Invalid


def clean(value: str, **kw: object) -> str:
    return validation.clean_text(value, field="body", max_chars=1000, **kw)  # type: ignore[arg-type]


def test_line_breaks_become_line_feeds_and_invisible_controls_go():
    assert clean("a\r\nb\rc\u2028d\u2029e\x85f") == "a\nb\nc\nd\ne\nf"
    assert clean("tab\tstays\x07\x1b[31m\x7f\x9b") == "tab\tstays[31m"


def test_bidi_overrides_cannot_reorder_what_is_shown():
    # "pay $9000" stored, shown reversed as "0009$ yap" with RLO: the override is dropped.
    assert clean("pay \u202e0009$\u202c now") == "pay 0009$ now"
    for control in "\u202a\u202b\u202c\u202d\u202e":
        assert control not in clean(f"x{control}y")


def test_rtl_text_and_its_marks_and_isolates_are_kept():
    hebrew = "\u05e9\u05dc\u05d5\u05dd \u200fmarked\u200e \u2067isolated\u2069 \u200d"
    assert clean(hebrew) == hebrew.strip()


def test_single_line_fields_collapse_breaks_and_nul_is_refused():
    assert clean("  Lease\r\n offer\u2028 2026 ", single_line=True) == "Lease offer 2026"
    with pytest.raises(Invalid, match="NUL"):
        clean("a\x00b")
    with pytest.raises(Invalid, match="empty"):
        clean("\x07\u202e  \r\n")


def test_the_limit_counts_what_was_sent_not_what_is_left_after_cleaning():
    # The API schema documents maxLength on the raw value: invisible characters that cleaning
    # drops still count, so a value the schema calls too long is never accepted.
    assert clean("x" * 1000) == "x" * 1000
    with pytest.raises(Invalid, match="longer than 1000"):
        clean("\x95" + "x" * 1000)
    with pytest.raises(Invalid, match="longer than 1000"):
        clean(" " + "x" * 1000)


# --- JSON objects (message metadata) --------------------------------------------------------


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_json_objects_are_bounded_in_depth_and_size():
    assert validation.json_object(_nested(validation.MAX_JSON_DEPTH), field="metadata")
    for bad in (_nested(validation.MAX_JSON_DEPTH + 1), {"ok": 1, "b": [_nested(300)]}):
        with pytest.raises(Invalid, match="deeper than 32") as err:
            validation.json_object(bad, field="metadata")
        assert err.value.field == "metadata"
    # The size is counted in UTF-8 bytes as PostgreSQL prints jsonb: "é" counts 2.
    pad = validation.MAX_JSON_BYTES - len('{"p": ""}')
    assert validation.json_object({"p": "y" * pad}, field="metadata")
    with pytest.raises(Invalid, match="larger than"):
        validation.json_object({"p": "\u00e9" * (pad // 2 + 1)}, field="metadata")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"a": "\ud800"}, "lone surrogates"),
        ({"\udfff": 1}, "lone surrogates"),
        ({"a": ["ok", {"b": "x\ud83d"}]}, "lone surrogates"),
        ({"a": "x\x00"}, "NUL"),
        ({"a": float("nan")}, "finite"),
        ({"a": [float("-inf")]}, "finite"),
        ({"a": 2**63}, "64 bits"),
        ({1: "x"}, "text keys"),
        ({"a": (1, 2)}, "plain JSON"),
        ({"a": {1, 2}}, "plain JSON"),
        ({"a": b"bytes"}, "plain JSON"),
        ([1], "must be an object"),
    ],
)
def test_json_objects_hold_plain_json_only(value, reason):
    with pytest.raises(Invalid, match=reason) as err:
        validation.json_object(value, field="metadata")
    assert err.value.field == "metadata"


def test_stored_json_is_judged_by_what_can_be_shown():
    # Reads only drop what cannot be serialized; NUL and big integers can be.
    assert validation.json_problem({"a": "x\x00", "n": 2**70}, strict=False) is None
    assert validation.json_problem({"a": "\ud800"}, strict=False)
    assert validation.json_problem(_nested(40), strict=False)
    emoji = {"\U0001f3e0": "\u05e9\u05dc\u05d5\u05dd \u00e9", "n": -(2**63) + 1, "f": 1.5}
    assert validation.json_object(emoji, field="metadata") == emoji


def test_messages_name_fields_in_words_in_sentence_case():
    with pytest.raises(Invalid) as err:
        validation.clean_text(" ", field="display_name", max_chars=80)
    assert (err.value.message, err.value.field) == (
        "Display name must not be empty",
        "display_name",
    )
    with pytest.raises(Invalid) as err:
        validation.normalize_email("not an address")
    assert err.value.message == "Enter a valid e-mail address, like name@example.com."
    with pytest.raises(Invalid) as err:
        validation.choice("x", field="status", allowed=("active", "closed"))
    assert err.value.message == "Status must be one of: active, closed"
