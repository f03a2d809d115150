"""Page routes, in one place so links and redirects never drift."""

from urllib.parse import quote

HOME = "/"
LOGIN = "/login"
SIGNUP = "/signup"
# Forgotten passwords (issue #13): ask for a link; the link's page sets a new password.
FORGOT = "/forgot"
RESET = "/reset"
INBOX = "/inbox"
THREAD = "/threads/[thread_id]"
THREAD_PREFIX = "/threads/"


def thread(thread_id: str) -> str:
    return THREAD_PREFIX + thread_id


# Deals (issue #11)
PROPERTIES = "/properties"
PROPERTY = "/properties/[property_id]"
PROPERTY_PREFIX = "/properties/"
ROI = "/roi"
PORTFOLIO = "/portfolio"
VERIFY = "/verify"
STAFF_VERIFICATIONS = "/staff/verifications"
# Notifications (issue #12): this browser's desktop notifications and sound, my e-mails.
SETTINGS = "/settings"


def property_page(property_id: str) -> str:
    return PROPERTY_PREFIX + property_id


def roi_for(property_id: str) -> str:
    """The ROI calculator prefilled from a property."""
    return f"{ROI}?property={property_id}"


# The e-mail bridge's offer links (issue #12): a confirmation page, nothing changes on load.
OFFER = "/offers/[offer_id]"
OFFER_PREFIX = "/offers/"
OFFER_ACTIONS = ("accept", "decline", "counter")


def offer_page(offer_id: str, action: str | None = None) -> str:
    return OFFER_PREFIX + offer_id + (f"?action={action}" if action else "")


def reset_link(token: str) -> str:
    """The path of a password-reset e-mail's link."""
    return f"{RESET}?token={token}"


MAX_NEXT_CHARS = 2000


def safe_next(value: object, default: str = INBOX) -> str:
    """Where to go after logging in (`?next=`): only a path on this site ("/..."), never
    "//host" or "/\\host" (browsers read both as another host), no control characters;
    anything else goes to `default`."""
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or len(value) > MAX_NEXT_CHARS
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
    ):
        return default
    return value


def login_then(path: str) -> str:
    """The login page, coming back to `path` afterwards."""
    return f"{LOGIN}?next={quote(safe_next(path), safe='/')}"


# Message search (issue #14): the results page, and a thread opened at one message.
SEARCH = "/search"


def search_for(query: str) -> str:
    return f"{SEARCH}?q={quote(query, safe='')}"


def thread_at(thread_id: str, seq: int) -> str:
    """A thread opened at message `seq` (pages/thread_jump.py loads it, assets/jump.js shows it)."""
    return f"{THREAD_PREFIX}{thread_id}?m={seq}"
