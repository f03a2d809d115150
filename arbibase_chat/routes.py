"""Page routes, in one place so links and redirects never drift."""

HOME = "/"
LOGIN = "/login"
SIGNUP = "/signup"
INBOX = "/inbox"
