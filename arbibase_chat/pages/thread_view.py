"""The thread page's view: header, messages, composer (state in pages/thread.py)."""

from __future__ import annotations

from typing import Any, cast

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.components.message_bubble import EditEvents, message_bubble
from arbibase_chat.components.offer_card import OfferEvents, status_badge
from arbibase_chat.components.solid import solid, solid_either
from arbibase_chat.components.stage_badge import stage_badge
from arbibase_chat.components.status_badge import thread_status_badge
from arbibase_chat.components.two_pane import two_pane
from arbibase_chat.config import get_settings
from arbibase_chat.pages.inbox_view import inbox_list, inbox_navbar
from arbibase_chat.pages.thread import UPLOAD_ID, ChatState
from arbibase_chat.pages.thread_ai_view import suggestion_chips
from arbibase_chat.pages.thread_mute import MUTE_MENU
from arbibase_chat.pages.thread_status_view import status_confirm_dialog, status_menu_items
from arbibase_chat.pages.thread_window import PARTS
from arbibase_chat.pages.verify_view import needs_verification, verify_banner
from arbibase_chat.services.validation import MAX_MESSAGE_CHARS

# Responsive `display` values (Reflex breakpoints: phone, ≥30em, ...).
FROM_SMALL = ["none", "inline"]
PHONE_ONLY = ["inline", "none"]
# Hand-set deal steps: (the stage they follow, the step, the menu's words, icon).
STAGE_STEPS = [
    ("agreed", "lease_drafted", "Mark lease drafted", "file-pen-line"),
    ("lease_drafted", "signed", "Mark lease signed", "badge-check"),
    ("lost", "resume", "Resume negotiation", "rotate-ccw"),
]


def _actions_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis-vertical", size=18),
                variant="ghost",
                aria_label="Thread actions",
                id="thread-actions",
            )
        ),
        rx.menu.content(
            # Phones hide the header's tag bar: its home there is this item's dialog.
            rx.menu.item(
                rx.hstack(rx.icon("tag", size=14), rx.text("Tags…"), align="center"),
                # Opens the dialog once the menu has let go of focus (a menu item cannot be a
                # dialog's trigger: the menu unmounts it as it closes).
                on_click=rx.call_script(
                    "setTimeout(() => document.getElementById('tags-dialog-open').click(), 0)"
                ),
                display=["flex", "none"],
                id="menu-tags",
            ),
            *status_menu_items(),
            rx.menu.separator(),
            *[
                rx.cond(
                    ChatState.stage == after,
                    rx.menu.item(
                        rx.hstack(rx.icon(icon, size=14), rx.text(label), align="center"),
                        on_click=ChatState.set_stage({"stage": step}),
                        class_name=f"stage-{step}",
                    ),
                )
                for after, step, label, icon in STAGE_STEPS
            ],
            rx.cond(
                (ChatState.stage != "signed") & (ChatState.stage != "lost"),
                rx.menu.item(
                    rx.hstack(rx.icon("circle-x", size=14), rx.text("Mark deal lost…")),
                    on_click=ChatState.open_lost,
                    class_name="stage-lost",
                ),
            ),
        ),
    )


def _remove_tag_button(tag: Any, *, size: int = 12, **props: Any) -> rx.Component:
    """A real button: reachable by Tab, named for the tag it removes."""
    style: dict[str, Any] = {
        "display": "inline-flex",
        "align_items": "center",
        "padding": "2px",
        "margin": "-2px -4px -2px 0",
        "border_radius": "4px",
        "border": "none",
        "background": "transparent",
        "color": "inherit",
        "cursor": "pointer",
        "_hover": {"background": rx.color("gray", 4)},
    }
    return rx.el.button(
        rx.icon("x", size=size),
        type="button",
        on_click=ChatState.remove_tag(tag),
        aria_label="Remove tag " + tag,
        title="Remove tag " + tag,
        class_name="remove-tag",
        **{**style, **props},
    )


def _tags_dialog() -> rx.Component:
    """The phone's home for tags (the ⋮ menu's "Tags…"): the thread's tags with their
    remove buttons, and a field to add one. The same events as the desktop's tag bar."""
    return rx.dialog.root(
        # Clicked from the menu item (see _actions_menu); never shown itself.
        rx.dialog.trigger(rx.el.button(id="tags-dialog-open", type="button", hidden=True)),
        rx.dialog.content(
            rx.dialog.title("Tags"),
            rx.dialog.description(
                "Both of you see this conversation's tags; the inbox filters by them.",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.cond(
                ChatState.tags.length() > 0,
                rx.flex(
                    rx.foreach(
                        ChatState.tags,
                        lambda tag: rx.badge(
                            tag,
                            # A finger-sized target (24 px, WCAG 2.5.8).
                            _remove_tag_button(
                                tag,
                                size=14,
                                min_width="24px",
                                min_height="24px",
                                justify_content="center",
                                margin="-4px -6px -4px 0",
                            ),
                            variant="outline",
                            size="2",
                            class_name="dialog-tag",
                        ),
                    ),
                    wrap="wrap",
                    gap="8px",
                    padding_y="12px",
                    id="tags-dialog-list",
                ),
                rx.text(
                    "No tags yet.",
                    size="2",
                    color=rx.color("gray", 11),
                    padding_y="12px",
                    as_="p",
                ),
            ),
            rx.form(
                rx.hstack(
                    rx.input(
                        name="tag",
                        placeholder="e.g. Offer Sent",
                        max_length=40,
                        id="tags-dialog-input",
                        aria_label="New tag",
                        flex="1",
                        min_width="0",
                    ),
                    rx.button("Add", type="submit", id="tags-dialog-add"),
                    width="100%",
                ),
                on_submit=ChatState.add_tag,
                reset_on_submit=True,
            ),
            rx.flex(
                rx.dialog.close(
                    rx.button("Done", variant="soft", color_scheme="gray", id="tags-dialog-done")
                ),
                justify="end",
                padding_top="12px",
            ),
            id="tags-dialog",
            max_width="420px",
            # Focus the dialog itself, not its first control (a tag's remove button, ringed) nor the field
            # (a phone's keyboard would cover the tags): Tab goes on from there.
            on_open_auto_focus=[
                rx.prevent_default,
                rx.call_script("document.getElementById('tags-dialog')?.focus()"),
            ],
            # Back to the ⋮ button that led here, not the hidden trigger.
            on_close_auto_focus=rx.call_script(
                "document.getElementById('thread-actions')?.focus()"
            ),
        ),
    )


def _tags_bar() -> rx.Component:
    return rx.hstack(
        rx.foreach(
            ChatState.tags,
            lambda tag: rx.badge(
                tag, _remove_tag_button(tag), variant="outline", class_name="thread-tag"
            ),
        ),
        rx.popover.root(
            rx.popover.trigger(
                rx.button(rx.icon("tag", size=12), "Tag", size="1", variant="ghost", id="add-tag")
            ),
            rx.popover.content(
                rx.form(
                    rx.hstack(
                        rx.input(
                            name="tag",
                            placeholder="e.g. Offer Sent",
                            max_length=40,
                            id="tag-input",
                            auto_focus=True,
                        ),
                        rx.popover.close(rx.button("Add", type="submit", size="2")),
                    ),
                    on_submit=ChatState.add_tag,
                    reset_on_submit=True,
                ),
            ),
        ),
        spacing="1",
        wrap="wrap",
        align="center",
        # Phones keep the header to two short rows; the tags show from 30em up.
        display=["none", "flex"],
        id="thread-tags",
    )


def _deal_panel() -> rx.Component:
    """The property and the deal at a glance (as Airbnb's host inbox shows the listing)."""
    return rx.hstack(
        rx.link(
            # The title gives way (an ellipsis) before the latest offer does.
            rx.text(
                ChatState.property_title,
                size="2",
                weight="medium",
                trim="both",
                overflow="hidden",
                text_overflow="ellipsis",
                white_space="nowrap",
            ),
            href=routes.PROPERTY_PREFIX + ChatState.property_id,
            color=rx.color("gray", 12),
            id="deal-property",
            min_width="0",
            overflow="hidden",
            flex_shrink="1",
        ),
        rx.text(
            ChatState.property_address,
            size="1",
            color=rx.color("gray", 11),
            display=["none", "none", "inline"],
        ),
        rx.cond(
            ChatState.property_rent != "",
            rx.text(
                "Asks ",
                ChatState.property_rent,
                size="1",
                color=rx.color("gray", 11),
                # A phone's one line goes to the latest offer when there is one.
                display=rx.cond(ChatState.latest_offer != "", "var(--asks-display)", "inline"),
                style={
                    "--asks-display": "none",
                    "@media (min-width: 30em)": {"--asks-display": "inline"},
                },
            ),
        ),
        rx.cond(
            ChatState.property_facts != "",
            rx.text(
                ChatState.property_facts,
                size="1",
                color=rx.color("gray", 11),
                display=["none", "inline"],
            ),
        ),
        rx.cond(
            ChatState.latest_offer != "",
            rx.hstack(
                rx.text("Latest offer", size="1", color=rx.color("gray", 11), display=FROM_SMALL),
                rx.text(ChatState.latest_offer, size="1", weight="medium", display=FROM_SMALL),
                rx.text(
                    ChatState.latest_offer_rent,
                    size="1",
                    weight="medium",
                    display=PHONE_ONLY,
                ),
                status_badge(ChatState.latest_offer_status, size="1"),
                spacing="1",
                align="center",
                flex_shrink="0",
                id="deal-latest-offer",
            ),
        ),
        spacing="3",
        align="center",
        # One line on phones (the rest is a tap away on the property page).
        wrap=rx.breakpoints(initial="nowrap", sm="wrap"),
        overflow="hidden",
        white_space="nowrap",
        max_width="100%",
        row_gap="2px",
        id="deal-panel",
    )


def _mute_menu() -> rx.Component:
    """The bell: mute this thread for a while or until I unmute, or unmute it."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.cond(ChatState.is_muted, rx.icon("bell-off", size=18), rx.icon("bell", size=18)),
                variant="ghost",
                color_scheme="gray",
                aria_label="Mute notifications",
                title="Mute notifications",
                id="mute-menu",
                # assets/chat.js reloads the header when this instant passes.
                custom_attrs={"data-muted-until": ChatState.muted_until},
            )
        ),
        rx.menu.content(
            # What holds now (on a phone the header has no muted badge), then the choices.
            rx.text(
                rx.cond(
                    ChatState.is_muted,
                    rx.cond(
                        ChatState.muted_forever,
                        rx.text.span("Muted until you unmute"),
                        rx.text.span(
                            "Muted until ",
                            rx.moment(ChatState.muted_until, format="MMM D, h:mm A"),
                        ),
                    ),
                    rx.text.span("Mute notifications"),
                ),
                size="1",
                color=rx.color("gray", 11),
                padding="4px 12px",
                id="mute-menu-status",
            ),
            *[
                rx.menu.item(label, on_click=ChatState.mute(choice), class_name=f"mute-{choice}")
                for choice, label in MUTE_MENU
            ],
            rx.cond(
                ChatState.is_muted,
                rx.fragment(
                    rx.menu.separator(),
                    rx.menu.item(
                        rx.hstack(rx.icon("bell-ring", size=14), rx.text("Unmute"), align="center"),
                        on_click=ChatState.unmute,
                        class_name="unmute",
                    ),
                ),
            ),
        ),
    )


def _muted_badge() -> rx.Component:
    """ "Muted until …" in the browser's own time zone, or "Muted" until I unmute."""
    return rx.cond(
        ChatState.is_muted,
        rx.badge(
            rx.icon("bell-off", size=12),
            rx.cond(
                ChatState.muted_forever,
                rx.text("Muted"),
                rx.text(
                    "Muted until ",
                    rx.moment(ChatState.muted_until, format="MMM D, h:mm A"),
                ),
            ),
            color_scheme="gray",
            variant="soft",
            id="chat-muted",
            # A phone's header has no room for it next to the name (it cut the name to one
            # letter): there the bell's own bell-off says it, and its menu says until when.
            display=["none", "inline-flex"],
            title=rx.cond(ChatState.muted_forever, "Muted until you unmute", "Muted"),
        ),
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.icon_button(
                rx.icon("arrow-left", size=18), variant="ghost", aria_label="Back to inbox"
            ),
            href=routes.INBOX,
            display=["inline-flex", "inline-flex", "none"],
        ),
        rx.vstack(
            rx.hstack(
                # The page's heading; focused on phones when a thread opens (assets/chat.js).
                rx.heading(
                    ChatState.counterparty_name,
                    as_="h1",
                    size="3",
                    id="chat-counterparty",
                    tab_index=-1,
                    # Focused by script, not reachable by Tab: no ring on a non-control.
                    outline="none",
                    trim="both",
                    overflow="hidden",
                    text_overflow="ellipsis",
                    white_space="nowrap",
                    min_width="0",
                    # The trimmed box would clip the letters' tops (overflow clips at the
                    # padding box): room for them, given back by the margin.
                    padding_block="4px",
                    margin_block="-4px",
                ),
                stage_badge(ChatState.stage, id="chat-stage"),
                rx.cond(
                    ChatState.status != "active",
                    thread_status_badge(ChatState.status, id="chat-status"),
                ),
                _muted_badge(),
                align="center",
                spacing="2",
                wrap=rx.breakpoints(initial="nowrap", sm="wrap"),
                min_width="0",
                max_width="100%",
                overflow="hidden",
            ),
            _deal_panel(),
            _tags_bar(),
            spacing=rx.breakpoints(initial="0", sm="1"),
            flex="1",
            min_width="0",
        ),
        _mute_menu(),
        _actions_menu(),
        padding=["6px 8px", "10px 16px"],
        spacing=rx.breakpoints(initial="1", sm="3"),
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        align=rx.breakpoints(initial="center", sm="start"),
        width="100%",
        flex_shrink="0",
        id="thread-header",
    )


def _messages() -> rx.Component:
    return rx.box(
        rx.cond(
            ChatState.has_older,
            rx.center(
                rx.button(
                    "Load older messages",
                    id="load-older",
                    variant="ghost",
                    size="1",
                    on_click=ChatState.load_older,
                ),
                padding="8px",
            ),
        ),
        # The window in its parts (ChatState._show), oldest first.
        *(
            rx.foreach(
                part,
                lambda view: message_bubble(
                    view, ChatState.seen_id, ChatState.retry, OFFER_EVENTS, EDIT_EVENTS
                ),
            )
            for part in (getattr(ChatState, name) for name in PARTS)
        ),
        # Messages typed while the socket is down, drawn by assets/chat.js until the
        # queued send reaches the server (React renders no children here, so it leaves
        # the ones chat.js adds alone).
        rx.el.div(id="offline-outbox"),
        id="message-list",
        flex="1",
        overflow_y="auto",
        padding=["8px 10px", "12px 16px"],
        width="100%",
        # A log: screen readers announce new messages as they arrive, politely.
        role="log",
        custom_attrs={
            "aria-live": "polite",
            "aria-label": "Messages",
            "data-thread": ChatState.open_id,
        },
    )


def _typing_indicator() -> rx.Component:
    """Over the list's bottom edge: outside the log (not announced as a message) and taking
    no room while nobody types."""
    return rx.cond(
        ChatState.typing_name != "",
        rx.text(
            ChatState.typing_name,
            " is typing…",
            size="1",
            color=rx.color("gray", 11),
            background=rx.color("gray", 1),
            padding="2px 8px",
            border_radius="8px",
            position="absolute",
            bottom="2px",
            left=["10px", "16px"],
            id="typing-indicator",
        ),
    )


def _composer() -> rx.Component:
    # An owner not verified yet reads but cannot reply: say so instead of a composer whose
    # every send would fail (pages/verify_view.py; services/policy.py decides).
    return rx.cond(needs_verification(), verify_banner(), _reply_box())


# A file on its way: its bytes (the browser's progress reports) or its storing (the server).
_UPLOAD_BUSY = ChatState.uploading | ChatState.upload_in_flight

# Each pick uploads under an id of its own. Reflex's browser side drops a pick while a request
# under the same id is open, and an upload's last update (the paperclip free again) reaches
# the page before its request ends. The picked files travel with the event, not by this id.
_EACH_PICKS_UPLOAD_ID = cast(str, rx.Var(f'("{UPLOAD_ID}-" + Date.now())').to(str))


def _attach_button() -> rx.Component:
    """The paperclip: picks a file and uploads it at once; busy, with a progress bar, while
    a file is on its way."""
    return rx.upload.root(
        rx.icon_button(
            rx.icon("paperclip", size=18),
            variant="ghost",
            size="3",
            type="button",
            aria_label="Attach a file",
            id="attach-button",
            disabled=_UPLOAD_BUSY,
        ),
        id=UPLOAD_ID,
        disabled=_UPLOAD_BUSY,
        multiple=False,
        max_size=get_settings().max_attachment_bytes,
        no_drag=True,
        on_drop=ChatState.upload(
            rx.upload_files(
                upload_id=_EACH_PICKS_UPLOAD_ID, on_upload_progress=ChatState.upload_progress
            )
        ),
        on_drop_rejected=rx.toast.error("That file is larger than the limit."),
        border="none",
        padding="0",
    )


def _attach_locked() -> rx.Component:
    """The thread's plan has no file sharing: the paperclip shows, disabled, and says why."""
    return rx.tooltip(
        rx.icon_button(
            rx.icon("paperclip", size=18),
            variant="ghost",
            size="3",
            type="button",
            disabled=True,
            aria_label="Attach a file (not in this plan)",
            id="attach-button-locked",
        ),
        content=ChatState.attach_note,
    )


def _text_box() -> rx.Component:
    """The message box (Enter sends; typing notices; the desktop's longer hint:
    assets/chat.js). A short placeholder: a touch keyboard has no Shift+Enter."""
    return rx.text_area(
        name="body",
        id="composer",
        placeholder="Message",
        max_length=10_000,
        rows="1",
        resize="none",
        flex="1",
        min_width="0",
        # One line to start, growing with the text (Chromium, Safari 18+), then scrolling.
        # The sizing goes on the inner <textarea> (the props style Radix's wrapper; Reflex
        # owns the "& textarea" key).
        min_height="40px",
        max_height="160px",
        style={"& .rt-TextAreaInput": {"fieldSizing": "content", "maxHeight": "158px"}},
        aria_label="Message",
    )


def _send_button() -> rx.Component:
    """Send."""
    return rx.icon_button(
        rx.icon("send", size=18),
        type="submit",
        id="send-button",
        aria_label="Send",
        size="3",
    )


def _reply_box() -> rx.Component:
    return rx.cond(
        ChatState.is_closed,
        rx.center(
            rx.text(
                "This thread is closed. Reopen it from the menu to reply.",
                size="2",
                color=rx.color("gray", 11),
            ),
            padding="16px",
            border_top=f"1px solid {rx.color('gray', 5)}",
        ),
        rx.form(
            rx.cond(
                _UPLOAD_BUSY,
                rx.hstack(
                    rx.text(rx.cond(ChatState.uploading, "Uploading…", "Saving…"), size="1"),
                    # Full while the server stores the file ("Saving…"). The percent moves by
                    # the socket's progress reports, the handler's updates come by the upload's
                    # own request: the bar never goes back, whichever arrives first.
                    rx.progress(
                        value=rx.cond(ChatState.upload_in_flight, 100, ChatState.upload_percent),
                        max=100,
                        flex="1",
                    ),
                    width="100%",
                    align="center",
                    id="upload-progress",
                    padding_bottom="6px",
                ),
            ),
            # Each send's id, filled by assets/chat.js at submit: a resend of a send that got
            # no answer reuses it and is stored once (pages/thread_send.py).
            rx.el.input(type="hidden", name="client_msg_id", id="composer-send-id"),
            rx.hstack(
                rx.cond(ChatState.can_attach, _attach_button(), _attach_locked()),
                _text_box(),
                _send_button(),
                align="end",
                width="100%",
            ),
            rx.cond(
                ~ChatState.can_attach,
                rx.text(
                    ChatState.attach_note,
                    size="1",
                    color=rx.color("gray", 11),
                    id="attach-note",
                    padding_top="4px",
                ),
            ),
            on_submit=ChatState.send,
            # Cleared in the browser at submit time: a server-side clear could wipe the next
            # message a fast typist already started.
            reset_on_submit=True,
            id="composer-form",
            padding=["8px 10px", "10px 16px"],
            border_top=f"1px solid {rx.color('gray', 5)}",
            width="100%",
            flex_shrink="0",
        ),
    )


OFFER_EVENTS = OfferEvents(
    ask=ChatState.ask, counter=ChatState.open_counter, decline=ChatState.open_decline
)


EDIT_EVENTS = EditEvents(edit=ChatState.start_edit, delete=ChatState.ask_delete)


def _edit_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Edit message"),
            rx.form(
                rx.vstack(
                    rx.text_area(
                        name="body",
                        default_value=ChatState.edit_text,
                        max_length=MAX_MESSAGE_CHARS,
                        required=True,
                        auto_focus=True,
                        rows="4",
                        width="100%",
                        id="edit-body",
                        aria_label="Message",
                    ),
                    rx.text(
                        "Both of you will see that it was edited.",
                        size="1",
                        color=rx.color("gray", 11),
                    ),
                    _form_buttons(ChatState.cancel_edit, "Save", "edit-save"),
                    spacing="3",
                ),
                on_submit=ChatState.save_edit,
                reset_on_submit=True,
            ),
        ),
        open=ChatState.editing_id != "",
        on_open_change=ChatState.cancel_edit,
    )


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete this message?"),
            rx.alert_dialog.description(
                'It is removed for both of you; the conversation shows "Message deleted".',
                size="2",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button("Cancel", variant="soft", color_scheme="gray"),
                    on_click=ChatState.cancel_delete,
                ),
                rx.alert_dialog.action(
                    rx.button("Delete", id="confirm-delete", **solid("red")),
                    on_click=ChatState.confirm_delete,
                ),
                spacing="3",
                justify="end",
                padding_top="12px",
            ),
        ),
        open=ChatState.deleting_id != "",
    )


def _form_buttons(
    on_cancel: Any, label: str, submit_id: str, *, color_scheme: str | None = None
) -> rx.Component:
    """A dialog form's last row: Cancel, then its submit button."""
    submit_props = solid(color_scheme) if color_scheme else {}
    return rx.hstack(
        rx.button("Cancel", variant="soft", color_scheme="gray", type="button", on_click=on_cancel),
        rx.button(label, type="submit", id=submit_id, **submit_props),
        justify="end",
        padding_top="8px",
        width="100%",
    )


def _confirm_dialog() -> rx.Component:
    accepting = ChatState.confirm_action == "accept"
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(rx.cond(accepting, "Accept this offer?", "Withdraw this offer?")),
            rx.alert_dialog.description(
                rx.cond(
                    accepting,
                    "You agree to these terms. Both of you will see it in the thread, and the "
                    "deal moves to Agreed.",
                    "The other party will no longer be able to accept it. You can send a new "
                    "offer afterwards.",
                ),
                size="2",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button("Cancel", variant="soft", color_scheme="gray"),
                    on_click=ChatState.cancel_confirm,
                ),
                rx.alert_dialog.action(
                    rx.button(
                        rx.cond(accepting, "Accept offer", "Withdraw offer"),
                        **solid_either(accepting, "green", "red"),
                        id="confirm-offer-step",
                    ),
                    on_click=ChatState.confirm,
                ),
                spacing="3",
                justify="end",
                padding_top="12px",
            ),
        ),
        open=ChatState.confirm_offer != "",
    )


def _decline_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Decline this offer"),
            rx.form(
                rx.vstack(
                    rx.text("Tell them why (optional): it helps the next offer.", size="2"),
                    rx.text_area(
                        name="reason",
                        max_length=500,
                        width="100%",
                        id="decline-reason",
                        aria_label="Why you decline (optional)",
                    ),
                    _form_buttons(
                        ChatState.close_decline, "Decline offer", "decline-send", color_scheme="red"
                    ),
                    spacing="3",
                ),
                on_submit=ChatState.decline,
                reset_on_submit=True,
            ),
        ),
        open=ChatState.decline_for != "",
        on_open_change=ChatState.close_decline,
    )


def _label(words: str, for_id: str) -> rx.Component:
    """A real <label for=…> (rx.text's html_for became a CSS property, naming nothing)."""
    return rx.el.label(
        words,
        html_for=for_id,
        font_size="var(--font-size-1)",
        line_height="var(--line-height-1)",
        font_weight="500",
    )


def _field(label: str, name: str, **props: object) -> rx.Component:
    return rx.vstack(
        _label(label, f"counter-{name}"),
        rx.input(
            name=name,
            id=f"counter-{name}",
            default_value=ChatState.counter_defaults[name],
            width="100%",
            **props,
        ),
        spacing="1",
        width="100%",
    )


def _counter_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Counter-offer"),
            rx.dialog.description(
                "Change what you want; the other side sees each change.", size="2"
            ),
            rx.form(
                rx.grid(
                    _field("Monthly rent ($)", "monthlyRent", type="number", min=1, step="any"),
                    _field("Lease (months)", "leaseMonths", type="number", min=1, max=120),
                    _field("Start date", "startDate", type="date"),
                    _field("Deposit ($)", "deposit", type="number", min=0, step="any"),
                    _field("Annual escalator (%)", "annualEscalatorPct", type="number", min=0),
                    rx.vstack(
                        _label("Model", "counter-model"),
                        rx.el.select(
                            rx.el.option("Guaranteed rent", value="guaranteed"),
                            rx.el.option("Revenue share", value="revenue_share"),
                            name="model",
                            default_value=ChatState.counter_defaults["model"],
                            id="counter-model",
                            class_name="rt-reset rt-SelectTrigger rt-r-size-2 rt-variant-surface",
                        ),
                        spacing="1",
                    ),
                    _field("Revenue share (%)", "revenueSharePct", type="number", min=0),
                    _field("Insurance coverage ($)", "insuranceCoverage", type="number", min=0),
                    _field(
                        "Operator pays repairs up to ($)", "maintenanceThreshold", type="number"
                    ),
                    _field("Valid for (days)", "expiresInDays", type="number", min=1, max=30),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.checkbox(
                    "Short-term subletting allowed",
                    name="subletClause",
                    default_checked=ChatState.counter_defaults["subletClause"] != "False",
                    padding_top="10px",
                ),
                rx.text_area(
                    name="message",
                    placeholder="A note with your counter (optional)",
                    max_length=2000,
                    width="100%",
                    margin_top="10px",
                ),
                rx.cond(
                    ChatState.counter_error != "",
                    rx.callout(ChatState.counter_error, color_scheme="red", size="1", role="alert"),
                ),
                _form_buttons(ChatState.close_counter, "Send counter-offer", "counter-send"),
                on_submit=ChatState.counter,
                key=ChatState.counter_for,
            ),
            max_width="560px",
        ),
        open=ChatState.counter_for != "",
        on_open_change=ChatState.close_counter,
    )


def _lost_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Mark this deal as lost"),
            rx.form(
                rx.vstack(
                    rx.text("Why was it lost? Both of you will see it.", size="2"),
                    rx.el.input(type="hidden", name="stage", value="lost"),
                    rx.text_area(
                        name="reason",
                        required=True,
                        max_length=500,
                        width="100%",
                        id="lost-reason",
                        aria_label="Why the deal was lost",
                    ),
                    _form_buttons(
                        ChatState.close_lost, "Mark lost", "lost-send", color_scheme="red"
                    ),
                    spacing="3",
                ),
                on_submit=ChatState.set_stage,
                reset_on_submit=True,
            ),
        ),
        open=ChatState.lost_open,
        on_open_change=ChatState.close_lost,
    )


def _hidden_triggers() -> rx.Component:
    # Clicked by assets/chat.js when the tab becomes visible / hidden, and when I start
    # typing (at once, then at most every TYPING_THROTTLE_SECONDS) or empty the composer.
    return rx.fragment(
        rx.el.button(id="tab-visible", on_click=ChatState.tab_shown, hidden=True, type="button"),
        rx.el.button(id="tab-hidden", on_click=ChatState.tab_hidden, hidden=True, type="button"),
        # Shown while the server holds this tab hidden. The state outlives the document (a
        # reload keeps the session), so chat.js compares it with the new document's own
        # visibility: a tab hidden, then reloaded visible, would otherwise never read.
        rx.cond(~ChatState.tab_visible, rx.el.span(id="tab-held-hidden", hidden=True)),
        rx.el.button(
            id="typing-start",
            on_click=ChatState.composer_changed("typing"),
            hidden=True,
            type="button",
        ),
        rx.el.button(
            id="typing-stop", on_click=ChatState.composer_changed(""), hidden=True, type="button"
        ),
        # A timed mute ended (assets/chat.js): the header reads the thread again.
        rx.el.button(id="mute-ended-thread", on_click=ChatState.load, hidden=True, type="button"),
    )


def chat_panel() -> rx.Component:
    return rx.cond(
        ChatState.not_found,
        rx.center(
            rx.vstack(
                rx.heading("Conversation not found", size="4"),
                rx.link("Back to the inbox", href=routes.INBOX),
                align="center",
            ),
            height="100%",
            id="chat-not-found",
        ),
        rx.flex(
            _header(),
            rx.box(
                _messages(),
                rx.button(
                    rx.icon("arrow-down", size=14),
                    "New messages",
                    id="new-messages-pill",
                    size="1",
                    radius="full",
                    # assets/chat.js sets data-show="1" when messages arrive below the fold.
                    style={"&:not([data-show='1'])": {"display": "none"}},
                    position="absolute",
                    bottom="12px",
                    left="50%",
                    transform="translateX(-50%)",
                    type="button",
                ),
                _typing_indicator(),
                position="relative",
                flex="1",
                min_height="0",
                display="flex",
                width="100%",
            ),
            suggestion_chips(),
            _composer(),
            _hidden_triggers(),
            _confirm_dialog(),
            _decline_dialog(),
            _edit_dialog(),
            _delete_dialog(),
            status_confirm_dialog(),
            _counter_dialog(),
            _lost_dialog(),
            _tags_dialog(),
            direction="column",
            height="100%",
            width="100%",
        ),
    )


def thread_page() -> rx.Component:
    return two_pane(inbox_navbar(), inbox_list(), chat_panel(), list_on_phone=False)
