"""`python -m arbibase_chat.cli setup|migrate|seed`: what `make run` does before serving."""

from __future__ import annotations

import argparse
import sys

from arbibase_chat import migrations
from arbibase_chat.config import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arbibase_chat")
    parser.add_argument("command", choices=["setup", "migrate", "seed"])
    args = parser.parse_args(argv)
    settings = get_settings()
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
