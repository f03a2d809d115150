"""The e-mail bridge (issue #12): what is not a service rule.

Outbound: `compose.py` builds the e-mail from what services/email_outbox.py read; `sender.py`
hands it to SMTP (aiosmtplib) or, with no SMTP_HOST, writes it under MAIL_DIR;
`dispatcher.py` runs claim → compose → send → record in every worker (a maintenance.py
lifespan task). `password_reset.py`: the password-reset e-mail (issue #13). Inbound: `inbound.py`, the listener for replies.
"""
