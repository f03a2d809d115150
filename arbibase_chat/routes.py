"""Page routes, in one place so links and redirects never drift."""

HOME = "/"
LOGIN = "/login"
SIGNUP = "/signup"
INBOX = "/inbox"
THREAD = "/threads/[thread_id]"
THREAD_PREFIX = "/threads/"


def thread(thread_id: str) -> str:
    return THREAD_PREFIX + thread_id
