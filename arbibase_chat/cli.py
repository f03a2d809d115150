"""`python -m arbibase_chat.cli setup|migrate|seed`: what `make run` does before serving.

`sweep-uploads`: delete uploads never sent in a message that are older than
PENDING_UPLOAD_GRACE_SECONDS (each worker also does it every hour: arbibase_chat/maintenance.py).

`mail-in [--host H] [--port P]`: the inbound SMTP listener for replies by e-mail
(arbibase_chat/mail/inbound.py) in the foreground until Ctrl-C, outside the app's workers.

Staff commands (ArbiBase staff at a shell; they act for no signed-in user):

- `verify-owner EMAIL`: approve the owner's pending verification claim, or verify them
  directly when they have none (recorded as a claim decided from the command line);
- `verify-owner EMAIL --reject "reason"`: reject the pending claim; the owner sees the reason;
- `make-staff EMAIL`: the account may review verification claims (`/staff/verifications`);
- `set-tier EMAIL beta|pro|premium`: the stand-in for billing.

Exit status 0 on success, 1 when the command was refused (unknown e-mail, bad tier, nothing
to reject), 2 for a malformed command line (argparse).
"""

from __future__ import annotations

import argparse
import sys

from arbibase_chat import migrations
from arbibase_chat.config import get_settings
from arbibase_chat.models import TIERS
from arbibase_chat.services.errors import AlreadyVerified, DomainError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbibase_chat")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("setup", help="migrate, then seed the demo data")
    commands.add_parser("migrate", help="upgrade the database to the newest schema")
    commands.add_parser("seed", help="add the demo accounts and conversations")
    commands.add_parser("sweep-uploads", help="delete uploads never sent in a message")
    mail_in = commands.add_parser(
        "mail-in",
        help="receive replies by e-mail (SMTP) until Ctrl-C",
        description="Run the inbound SMTP listener for replies to reply+<token>@"
        "EMAIL_REPLY_DOMAIN in the foreground until Ctrl-C (the app's workers run it "
        "themselves when INBOUND_SMTP_PORT is set). A reply posted from this separate "
        "process shows live in open browsers only when the workers can hear of it: on "
        "PostgreSQL (its NOTIFY triggers) or with REDIS_URL set (published to the workers' "
        "channel); on SQLite without Redis it shows at the page's next load.",
    )
    mail_in.add_argument("--host", help="address to listen on (default: INBOUND_SMTP_HOST)")
    mail_in.add_argument("--port", type=int, help="port to listen on (default: INBOUND_SMTP_PORT)")
    verify = commands.add_parser("verify-owner", help="approve (or reject) an owner's claim")
    verify.add_argument("email")
    verify.add_argument("--reject", metavar="REASON", help="reject the pending claim")
    staff = commands.add_parser("make-staff", help="let an account review verifications")
    staff.add_argument("email")
    tier = commands.add_parser("set-tier", help="set an account's tier")
    tier.add_argument("email")
    # Not `choices=`: the service validates, and says so in the same words as everywhere.
    tier.add_argument("tier", metavar="|".join(TIERS))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    if args.command in ("verify-owner", "make-staff", "set-tier"):
        return _staff_command(args)
    if args.command == "mail-in":
        return _mail_in(args)
    if args.command == "sweep-uploads":
        from arbibase_chat.services.attachments import sweep_pending_uploads

        deleted = sweep_pending_uploads()
        print(f"deleted {deleted} upload(s) never sent in a message")
        return 0
    settings.signing_secret()  # create the local JWT secret before any worker starts
    settings.attachments_dir.mkdir(parents=True, exist_ok=True)
    if args.command in ("setup", "migrate"):
        migrations.upgrade()
    if args.command in ("setup", "seed"):
        from arbibase_chat.seed import demo_logins_text, seed_demo

        seed_demo()
        print(demo_logins_text())
    return 0


def _mail_in(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from arbibase_chat import log_redaction
    from arbibase_chat.mail import inbound

    settings = get_settings()
    if not settings.email_reply_domain:
        print("error: set EMAIL_REPLY_DOMAIN (the domain of the reply addresses)", file=sys.stderr)
        return 1
    if args.port is None and settings.inbound_smtp_port is None:
        print("error: set INBOUND_SMTP_PORT or pass --port", file=sys.stderr)
        return 1
    # aiosmtpd logs every command at INFO, reply addresses (tokens) included: redacted.
    log_redaction.install()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(inbound.serve_forever(host=args.host, port=args.port))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how the listener is stopped: a clean exit (0)
    except OSError as exc:
        print(f"error: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


def _staff_command(args: argparse.Namespace) -> int:
    from arbibase_chat.services import accounts, verification

    try:
        if args.command == "make-staff":
            user = accounts.set_staff(email=args.email)
            print(f"{user.email} is ArbiBase staff now: they review claims at /staff/verifications")
        elif args.command == "set-tier":
            user = accounts.set_tier(email=args.email, tier=args.tier)
            print(f"{user.email} is on the {user.tier} tier now")
        elif args.reject is not None:
            claim = verification.reject(staff_id=None, owner_email=args.email, reason=args.reject)
            print(f"rejected the verification claim of {claim.owner_email}: {claim.reason}")
        else:
            claim = verification.approve(staff_id=None, owner_email=args.email)
            print(f"{claim.owner_email} is verified: they can reply to operators now")
    except AlreadyVerified as exc:
        print(exc.message)  # nothing to do: the outcome asked for is already there
        return 0
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
