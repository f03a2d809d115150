"""Password resets of local accounts (issue #13).

- `users.password_changed_at`: when a reset last set the password; the app's own access
  tokens issued before it stop working (`identity.resolve_session`). `authenticated` may read
  it (the session check runs as the user), never write it. 0008's account notice also fires
  for it, so the user's open pages check their session at once (on every worker).
- `password_reset_tokens`: SHA-256 of one-time reset links, their user, expiry and use. No
  access for `authenticated` at all (like `messaging_email_tokens`, 0010): a reset is asked
  for and used before anyone is signed in, so only the app's own role touches the table
  (`_tx.ELEVATED["password-reset"]`). RLS is on with no policy, so a future grant still shows
  nothing. Not in supabase/migrations: in Supabase mode the passwords, and their resets, are
  Supabase Auth's.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
TABLE = "password_reset_tokens"
ACCOUNT_COLUMNS = ("verified", "is_staff", "tier", "role")


def _account_trigger(*, with_password: bool) -> str:
    """0008's `users_notify_account`, with or without `password_changed_at`."""
    columns = [*ACCOUNT_COLUMNS, *(["password_changed_at"] if with_password else [])]
    old = ", ".join(f"old.{c}" for c in columns)
    new = ", ".join(f"new.{c}" for c in columns)
    return f"""
drop trigger if exists users_notify_account on public.users;
create trigger users_notify_account
  after update of {", ".join(columns)} on public.users
  for each row when (({old}) is distinct from ({new}))
  execute function public.messaging_notify_account();
"""


# As 0010 does for its tokens: nothing for anon / authenticated (a Supabase-shaped database's
# default privileges may just have granted them ALL), RLS on with no policy.
POSTGRES_UP = f"""
revoke all on table public.{TABLE} from anon, authenticated;
grant all on table public.{TABLE} to service_role;
alter table public.{TABLE} enable row level security;
grant select (password_changed_at) on table public.users to authenticated;
""" + _account_trigger(with_password=True)

POSTGRES_DOWN = """
revoke select (password_changed_at) on table public.users from authenticated;
""" + _account_trigger(with_password=False)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
    )
    op.create_index("ix_password_reset_tokens_user", TABLE, ["user_id"])
    op.add_column("users", sa.Column("password_changed_at", TS))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_DOWN)
    # Plain ALTER (SQLite >= 3.35): a batch copy would cascade-delete what references users.
    op.execute("ALTER TABLE users DROP COLUMN password_changed_at")
    op.drop_index("ix_password_reset_tokens_user", table_name=TABLE)
    op.drop_table(TABLE)
