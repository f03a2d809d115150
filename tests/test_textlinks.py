from arbibase_chat.textlinks import Segment, segments


def test_plain_text_is_one_segment():
    assert segments("hello <b>there</b>") == [Segment(text="hello <b>there</b>")]


def test_http_links_are_linked_and_prose_punctuation_is_not():
    assert segments("See https://ex.com/a?b=1. Thanks") == [
        Segment(text="See "),
        Segment(text="https://ex.com/a?b=1", href="https://ex.com/a?b=1"),
        Segment(text=". Thanks"),
    ]
    assert segments("(http://x.io/wiki/Foo_(bar))")[1].href == "http://x.io/wiki/Foo_(bar)"


def test_dangerous_schemes_stay_text():
    for body in ("javascript:alert(1)", "data:text/html,<script>", "<img src=x onerror=alert(1)>"):
        assert all(s.href == "" for s in segments(body))
