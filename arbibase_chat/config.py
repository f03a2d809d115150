"""Settings from the environment and `.env` (pydantic-settings + python-dotenv).

Every key is documented in `.env.example`. Nothing secret has a hard-coded default: the JWT
signing secret is generated once and kept in `var/jwt_secret` when JWT_SECRET is not set.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from dotenv import load_dotenv
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
# The browser keeps its access token here; the UI and the REST API both accept it.
ACCESS_TOKEN_COOKIE = "arbibase_access_token"


# The plans' features (services/policy.py explains them). Every tier gets at least these.
TIER_FEATURE_NAMES = ("text", "offers", "attachments", "ai_suggestions", "email_fallback")
DEFAULT_TIER_FEATURES: dict[str, tuple[str, ...]] = {
    "beta": ("text", "offers"),
    "pro": ("text", "offers", "attachments"),
    "premium": ("text", "offers", "attachments", "ai_suggestions", "email_fallback"),
}


# Sends in flight on one machine when MAX_SENDS_IN_FLIGHT is unset (Settings splits them over
# its workers): about half a second of what 2 cores store (bench/README.md, #14 session 7).
SENDS_IN_FLIGHT_PER_MACHINE = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    database_url: str = Field(default=f"sqlite:///{VAR_DIR / 'arbibase_chat.db'}")
    # PostgreSQL: run each user request as `authenticated` with their claims, under RLS
    # (services/_tx.py, alembic 0004). Off only to measure its cost.
    db_rls: bool = True
    redis_url: str | None = None
    jwt_secret: str | None = None
    jwt_secret_file: Path = VAR_DIR / "jwt_secret"
    access_token_ttl_seconds: int = 60 * 60 * 24 * 7
    attachments_dir: Path = VAR_DIR / "attachments"
    max_attachment_bytes: int = 25 * 1024 * 1024
    # Per user: total bytes of their stored attachments (0: no quota), and uploads not yet
    # sent in a message (0: no cap). Uploads never sent are deleted after the grace period by
    # the sweep (`python -m arbibase_chat.cli sweep-uploads`, or every
    # upload_sweep_interval_seconds in each worker: arbibase_chat/maintenance.py).
    attachment_quota_bytes: int = Field(default=500 * 1024 * 1024, ge=0)
    max_pending_uploads: int = Field(default=20, ge=0)
    pending_upload_grace_seconds: int = Field(default=24 * 60 * 60, ge=0)
    upload_sweep_interval_seconds: int = Field(default=60 * 60, ge=1)
    # Offers past their expiry are expired and announced this often (maintenance.py); acting
    # on one in between is refused anyway (services/offers.py).
    offer_expiry_interval_seconds: float = Field(default=30.0, gt=0)
    # A sender may edit or delete their own text message this long after sending it
    # (services/message_edits.py). PostgreSQL's trigger (alembic 0009) reads the same number
    # from the setting `arbibase_chat.message_edit_window_seconds` (default 900): change both.
    message_edit_window_seconds: int = Field(default=15 * 60, ge=0)
    # Tier gating (services/policy.py): what a thread may use, by its operator's tier. JSON in
    # the environment, e.g. TIER_FEATURES='{"beta": ["text", "offers", "attachments"], ...}'.
    tier_features: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_TIER_FEATURES)
    )

    # REST API (/api). Browser origins (scheme://host[:port]) other than the app's own that
    # may call the API: comma-separated in the environment. Empty: same-origin only.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Largest JSON request body the API reads (bigger: 413 before parsing).
    max_json_body_bytes: int = 256 * 1024
    # Per-user send rate limit (token bucket): a burst of this many messages, refilled at
    # send_rate_per_second. send_rate_burst=0 turns the limit off. Shared through Redis
    # when REDIS_URL is set (several workers), otherwise kept in the process.
    send_rate_burst: int = Field(default=20, ge=0)
    send_rate_per_second: float = Field(default=5.0, gt=0)
    rate_limit_key_prefix: str = "arbibase:ratelimit:"
    # Password sign-in and sign-up limits (services/ratelimit.py), token buckets like the send
    # limit: a burst, then `_per_minute` more; `_burst=0` turns one off. Checked before any
    # password is hashed (or Supabase Auth asked); shared through Redis when REDIS_URL is set.
    # One account from one client (the IP address): a few mistakes free, then one a minute.
    sign_in_pair_burst: int = Field(default=5, ge=0)
    sign_in_pair_per_minute: float = Field(default=1.0, gt=0)
    # One client, any accounts (password spraying; the argon2 CPU one client may use).
    sign_in_client_burst: int = Field(default=20, ge=0)
    sign_in_client_per_minute: float = Field(default=10.0, gt=0)
    # One account, any clients (guessing from many addresses). Looser than the pair limit so
    # that one attacking address cannot keep a victim's account locked.
    sign_in_account_burst: int = Field(default=30, ge=0)
    sign_in_account_per_minute: float = Field(default=3.0, gt=0)
    # Sign-ups from one client.
    sign_up_client_burst: int = Field(default=5, ge=0)
    sign_up_client_per_minute: float = Field(default=0.2, gt=0)
    # Password-reset requests (services/password_resets.py): per address asked for (known or
    # not, so a stranger cannot flood someone's mailbox), and per client, any addresses.
    password_reset_account_burst: int = Field(default=3, ge=0)
    password_reset_account_per_minute: float = Field(default=0.1, gt=0)
    password_reset_client_burst: int = Field(default=10, ge=0)
    password_reset_client_per_minute: float = Field(default=0.5, gt=0)
    # Reverse proxies in front of the app that append the client's address to X-Forwarded-For.
    # 0 (default): the address of the TCP peer is the client and X-Forwarded-For is ignored
    # (anyone can send one). N: the N-th address from the right. Also Reflex's
    # trusted_proxy_hops (rxconfig.py), so the login page and the API agree.
    trusted_proxy_hops: int = Field(default=0, ge=0)
    # Password hashes (argon2) one worker computes at once, on threads of their own at a lower
    # CPU priority; sign-ins and sign-ups beyond it wait for a turn, so a burst of logins cannot
    # take the threads and CPU every other request needs (one argon2id hash already spreads
    # over up to 4 threads). 0: no bound (the shared thread pool).
    password_hashing_threads: int = Field(default=1, ge=0)
    # Message sends one worker runs at once (UI and API); past it a send is refused at once
    # as busy (nothing stored) instead of queueing behind an overloaded worker. 0: no bound.
    # Unset: SENDS_IN_FLIGHT_PER_MACHINE split over the machine's WEB_CONCURRENCY workers (32
    # for one, 16 each for two). The workers share the machine's cores and database: a
    # second worker adds little capacity, so 32 each only doubled the queue (two workers at
    # 10x capacity, every send delivered within 1 s at p99: 3 of 7 runs with 16 each, 0 of 6
    # with 32 each; at 2x, p99 0.43 s against 0.63 s; bench/README.md, #14 session 16).
    max_sends_in_flight: int = Field(default=SENDS_IN_FLIGHT_PER_MACHINE, ge=0)
    # gunicorn's own setting (worker processes); read here only for the bound above.
    web_concurrency: int = Field(default=1, ge=1)
    # AI reply suggestions for Premium operators (services/ai_replies.py). AI_BASE_URL unset
    # (the default): drafts from templates, no network. Set: any OpenAI-compatible
    # chat-completions endpoint (Ollama `http://127.0.0.1:11434/v1`, vLLM, a hosted API);
    # AI_API_KEY goes out as a Bearer token when set. A provider slower than
    # AI_TIMEOUT_SECONDS, or failing, gives no suggestions and a notice (never an error).
    ai_base_url: str | None = None
    ai_model: str = "llama3.1"
    ai_api_key: str | None = None
    ai_timeout_seconds: float = Field(default=8.0, gt=0, le=120)
    ai_temperature: float = Field(default=0.4, ge=0, le=2)
    # A suggested counter rent never goes above the rent at which the operator's own ROI
    # snapshot still reaches this cash-on-cash return (percent a year on the startup cost).
    ai_target_cash_on_cash_pct: float = Field(default=20.0, ge=0, le=1000)
    # Suggestions per user (token bucket, like sends): a burst, then one every 10 s.
    ai_rate_burst: int = Field(default=5, ge=0)
    ai_rate_per_second: float = Field(default=0.1, gt=0)
    # Redis pub/sub channel the workers' realtime hubs share (one per deployment).
    realtime_channel: str = "arbibase_chat:realtime"

    # Supabase mode (arbibase_chat/adapters/): set SUPABASE_URL and the keys to sign in
    # through Supabase Auth and keep attachments in Supabase Storage. Unset: local accounts
    # and files under ATTACHMENTS_DIR. Access tokens are verified with SUPABASE_JWT_SECRET
    # (HS256) and/or the project's JWKS (RS256/ES256; default URL derived from SUPABASE_URL).
    supabase_url: str | None = None
    supabase_anon_key: str | None = None
    supabase_service_role_key: str | None = None
    supabase_jwt_secret: str | None = None
    supabase_jwks_url: str | None = None
    supabase_storage_bucket: str = "message_attachments"
    # Lifetime of the signed download URLs handed out after the participant check.
    supabase_signed_url_ttl_seconds: int = Field(default=60, ge=1, le=3600)
    # The e-mail bridge (Premium threads; services/email_outbox.py, arbibase_chat/mail/). A
    # participant who has not read a message within EMAIL_NOTIFY_DELAY_SECONDS gets one e-mail
    # per thread batching what arrived meanwhile. SMTP_HOST unset (`make run`): e-mails are
    # written as .eml files under MAIL_DIR and logged instead of sent. SMTP_STARTTLS unset:
    # STARTTLS when the server offers it; true: required; false: never.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool | None = None
    smtp_from: str | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_dir: Path = VAR_DIR / "mail"
    # Where the app is reached from an e-mail (links, the unsubscribe URL).
    public_url: str = "http://localhost:3000"
    # Reply by e-mail: Reply-To is reply+<token>@EMAIL_REPLY_DOMAIN (unset: no Reply-To, and
    # the e-mails say to answer in the app). Tokens stop working after the TTL.
    email_reply_domain: str | None = None
    email_reply_token_ttl_days: int = Field(default=30, ge=1)
    # How long a password-reset link works (one use; a newer link voids the older ones).
    password_reset_ttl_seconds: int = Field(default=3600, ge=60)
    email_notify_delay_seconds: float = Field(default=120.0, ge=0)
    # How often each worker looks for due e-mails, and how long a claimed e-mail may stay
    # unsent before another worker takes it over (its worker died between claim and send).
    email_dispatch_interval_seconds: float = Field(default=5.0, gt=0)
    email_claim_lease_seconds: float = Field(default=300.0, gt=0)
    email_max_attempts: int = Field(default=5, ge=1)
    # The inbound SMTP listener for replies (aiosmtpd): on when INBOUND_SMTP_PORT is set, in
    # the app process, or alone: `python -m arbibase_chat.cli mail-in`.
    inbound_smtp_host: str = "127.0.0.1"
    inbound_smtp_port: int | None = None
    inbound_max_message_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Replies per sender address (token bucket): a burst, then one every 6 s.
    inbound_rate_burst: int = Field(default=10, ge=0)
    inbound_rate_per_second: float = Field(default=1 / 6, gt=0)

    @model_validator(mode="after")
    def _split_sends_bound(self) -> Settings:
        if "max_sends_in_flight" not in self.model_fields_set:
            self.max_sends_in_flight = max(1, SENDS_IN_FLIGHT_PER_MACHINE // self.web_concurrency)
        return self

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return [str(v).strip().rstrip("/") for v in value if str(v).strip()]
        return value

    @field_validator("tier_features")
    @classmethod
    def _known_tiers_and_features(
        cls, value: dict[str, tuple[str, ...]]
    ) -> dict[str, tuple[str, ...]]:
        unknown_tiers = set(value) - set(DEFAULT_TIER_FEATURES)
        if unknown_tiers:
            raise ValueError(f"unknown tiers in TIER_FEATURES: {sorted(unknown_tiers)}")
        for tier, features in value.items():
            unknown = set(features) - set(TIER_FEATURE_NAMES)
            if unknown:
                raise ValueError(f"unknown features for {tier} in TIER_FEATURES: {sorted(unknown)}")
        # A tier left out keeps its default; every plan has messages and offers.
        merged = {**DEFAULT_TIER_FEATURES, **value}
        return {t: tuple(dict.fromkeys(("text", "offers", *f))) for t, f in merged.items()}

    def signing_secret(self) -> str:
        """The JWT secret: from the environment, else from the local file (created once)."""
        if self.jwt_secret:
            return self.jwt_secret
        return _load_or_create_secret(self.jwt_secret_file)


def _load_or_create_secret(path: Path) -> str:
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(secrets.token_urlsafe(48))
    tmp.chmod(0o600)
    try:
        # link() is atomic and refuses to overwrite: when several workers start at once exactly
        # one secret wins and every worker reads that one.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    return Settings()
