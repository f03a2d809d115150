"""`python -m arbibase_chat.cli setup|migrate|seed`: what `make run` does before serving.

`sweep-uploads`: delete uploads never sent in a message that are older than
PENDING_UPLOAD_GRACE_SECONDS (each worker also does it every hour: arbibase_chat/maintenance.py).
"""

from __future__ import annotations

import argparse
import sys

from arbibase_chat import migrations
from arbibase_chat.config import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arbibase_chat")
    parser.add_argument("command", choices=["setup", "migrate", "seed", "sweep-uploads"])
    args = parser.parse_args(argv)
    settings = get_settings()
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


if __name__ == "__main__":
    sys.exit(main())
