"""What is kept of an e-mail's text (services/email_replies.reply_text) and how the listener
reads addresses and HTML (mail/inbound.py): no database, no network."""

from __future__ import annotations

import pytest

from arbibase_chat.mail.inbound import html_to_text, reply_token
from arbibase_chat.services.email_replies import reply_text, retry_key, sender_address

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # Gmail / Apple Mail: the "On ... wrote:" line, even wrapped, and the quote under it.
        (
            "Yes, Friday.\r\n\r\nOn Mon, Dec 1, 2026 at 9:12 AM ArbiBase Chat <\r\n"
            "notifications@arbibase.test> wrote:\r\n> Friday?\r\n",
            "Yes, Friday.",
        ),
        # Outlook: its From / Sent / To / Subject block.
        (
            "Fine by me.\n\nFrom: ArbiBase Chat <n@arbibase.test>\nSent: Monday, December 1\n"
            "To: Olivia <o@example.com>\nSubject: Re: Lease offer\n\nOld text",
            "Fine by me.",
        ),
        # Phones' signatures and the "-- " delimiter.
        ("On my way.\n\nSent from my iPhone", "On my way."),
        ("Agreed.\n-- \nOlivia Owner\n+1 555 0100", "Agreed."),
        # Answers between quoted lines stay; the quotes go.
        ("> Rent?\n$2,100.\n> Start?\nMarch 1.", "$2,100.\nMarch 1."),
        # A list of terms is not a "-Name" signature.
        ("My terms:\n- 12 months\n- no pets", "My terms:\n- 12 months\n- no pets"),
        # French header (the languages: en, es, fr, de).
        (
            "Oui, parfait.\n\nLe lun. 1 déc. 2026 à 09:12, ArbiBase <n@a.test> a écrit :\n> Lundi ?",
            "Oui, parfait.",
        ),
        ("On Mon, Dec 1, 2026 at 9:12 AM A <a@b.test> wrote:\n> only a quote", ""),
        ("\n\n   \n", ""),
        # mbox escaping of a line that starts with "From " (smtplib does it) is undone.
        (">From the airport: yes.\n> From: quoted", "From the airport: yes."),
    ],
)
def test_reply_text(text: str, kept: str) -> None:
    assert reply_text(text) == kept


def test_sender_address_is_the_one_address_lower_cased() -> None:
    assert sender_address("Olivia <Olivia@Example.COM>") == "olivia@example.com"
    assert sender_address("olivia@example.com") == "olivia@example.com"
    for bad in ("", "Olivia", "a@x.com, b@y.com", "@example.com", "olivia@"):
        assert sender_address(bad) is None, bad


def test_retry_key_fits_client_msg_id_and_follows_the_email() -> None:
    one = retry_key(message_id="<a@x>", token=TOKEN, sender="o@x", text="hi")
    assert len(one) == 64 and one.startswith("email:")
    assert one == retry_key(message_id="<a@x>", token="other", sender="p@x", text="bye")
    assert one != retry_key(message_id="<b@x>", token=TOKEN, sender="o@x", text="hi")
    bare = retry_key(message_id=None, token=TOKEN, sender="o@x", text="hi")
    assert bare == retry_key(message_id="  ", token=TOKEN, sender="o@x", text="hi")
    assert bare != retry_key(message_id=None, token=TOKEN, sender="o@x", text="hi!")


def test_reply_token_reads_only_reply_addresses_of_the_domain() -> None:
    domain = "reply.arbibase.test"
    assert reply_token(f"reply+{TOKEN}@{domain}", domain) == TOKEN
    assert reply_token(f"<Reply+{TOKEN.upper()}@Reply.ArbiBase.Test>", domain) == TOKEN
    for address in (
        f"reply+{TOKEN}@other.test",
        f"reply+{TOKEN}@{domain}.evil.test",
        f"reply+{TOKEN[:-1]}@{domain}",
        f"reply-{TOKEN}@{domain}",
        f"reply+{TOKEN}",
        "",
    ):
        assert reply_token(address, domain) is None, address


def test_html_to_text_keeps_lines_drops_hidden_parts_and_marks_quotes() -> None:
    html = (
        "<html><head><title>t</title><style>p{}</style><script>x()</script></head><body>"
        "<p>One &amp; two</p><p>Three<br>four<br><br>five</p>"
        "<blockquote>old<blockquote>older</blockquote></blockquote><pre>a\n  b</pre></body>"
    )
    assert html_to_text(html) == "One & two\n\nThree\nfour\n\nfive\n\n> old\n> > older\na\n  b"


def test_a_long_quoted_history_is_cut_from_the_start_of_the_email() -> None:
    history = "".join(f"> line {i} of an older message\n" for i in range(200_000))  # ~6 MB
    text = "Yes, agreed.\n\nOn Mon, Dec 1, 2026 at 9:12 AM A <a@b.test> wrote:\n" + history
    assert reply_text(text) == "Yes, agreed."
