"""Settings: one object, read from the environment (and an optional `.env`)."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development"}


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Environment = Field(
        Environment.production,
        description="`development` allows a generated SECRET_KEY; `production` refuses one.",
    )
    database_url: str | None = Field(None, description="postgresql+asyncpg://user:pass@host/db")
    redis_url: str | None = Field(None, description="redis://host:port/db")
    secret_key: str = Field("", description="Signs staff JWTs and survey links.")
    data_dir: Path = Field(Path(".data"), description="Embedded servers and dev secrets live here.")
    redis_namespace: str = Field("switchboard", description="Prefix of every Redis key and queue.")

    jwt_expires_seconds: int = Field(3600, ge=60)
    auth_cache_seconds: float = Field(
        10, ge=0, description="How long a process trusts an API token it has checked.")
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_import_bytes: int = Field(50 * 1024 * 1024, ge=1024, description="CSV import bodies.")
    rate_limit_per_minute: int = Field(600, ge=1)
    login_rate_limit_per_minute: int = Field(
        20, ge=1, description="Sign-in attempts (`POST /v1/auth/token`) per client address.")
    login_rate_limit_per_account_per_minute: int = Field(
        10, ge=1, description="Sign-in attempts per account (the username, case-insensitive), "
        "from all addresses together.")
    trusted_proxies: str = Field(
        "", description="Comma-separated addresses or CIDRs of the reverse proxies in front of "
        "the API: only from these are `X-Forwarded-For`/`X-Forwarded-Proto` believed (the "
        "client address of rate limits). Empty: none, the peer is the client.")
    idempotency_ttl_seconds: int = Field(24 * 3600, ge=60)
    db_pool_size: int = Field(
        20, ge=1, description="Connections a process keeps open: size it for the requests (or "
        "jobs) it serves at once. A request beyond them borrows an overflow connection, which "
        "is opened for it and closed after it.")
    db_max_overflow: int = Field(10, ge=0, description="Overflow connections beyond the pool.")
    log_level: str = "INFO"
    metrics_token: str = Field(
        "", description="When set, `GET /metrics` needs `Authorization: Bearer <this>` (give it "
        "to the scraper only); empty: /metrics is open, so serve it on a private network.")
    worker_poll_delay: float = Field(
        0.05, gt=0, le=5, description="Seconds the worker waits between queue polls when idle.")

    # -- intake (forms, surveys, email) --
    portal_origins: str = Field(
        "", description="Comma-separated browser origins (`https://help.example.com`) allowed to "
        "call `/v1/public/*` cross-origin (CORS); empty: none.")
    form_max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest public form submission body (413 past it).")
    form_rate_limit_per_ip: int = Field(
        10, ge=1, description="Public form submissions and survey answers per client IP a minute.")
    form_rate_limit_per_form: int = Field(
        120, ge=1, description="Submissions per form a minute, from all clients together.")
    form_honeypot_field: str = Field(
        "website", pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="Hidden form input: a submission filling it is answered 201 and dropped.")
    survey_link_ttl_seconds: int = Field(
        7 * 24 * 3600, ge=60, description="How long a survey link stays valid.")
    max_attachment_bytes: int = Field(
        10 * 1024 * 1024, ge=0, description="Email attachments larger than this are not kept "
        "(an internal note on the ticket names them).")
    max_email_bytes: int = Field(
        25 * 1024 * 1024, ge=1024, description="Largest inbound email, by SMTP or by webhook.")
    smtp_hostname: str = Field("", description="Name in the SMTP greeting (default: the FQDN).")

    # -- routing --
    routing_sweep_after_seconds: float = Field(
        30, ge=0, description="A ticket still `pending` this long after creation is enqueued "
        "again by the worker's sweep (every 15 s and at worker start).")
    routing_retry_delay_seconds: float = Field(
        1.0, ge=0, description="First backoff of a routing job after a transient failure "
        "(doubles per try, at most 60 s).")
    routing_lock_timeout_seconds: float = Field(
        5.0, gt=0, description="How long routing waits for a row lock before retrying later.")
    routing_batch_size: int = Field(
        50, ge=1, le=1000, description="Most tickets one routing job routes in its transaction: "
        "its own, then other pending tickets of the desk no worker holds, oldest first (1: "
        "one ticket per job).")
    routing_batch_after_seconds: float = Field(
        0.5, ge=0, description="The queue is behind when a routing job starts this long after "
        "it was enqueued: only then does it route a batch, of tickets pending at least this "
        "long (fresh ones are routed sooner by their own jobs).")

    # -- webhooks --
    webhook_allow_hosts: str = Field("", description="Comma-separated hosts/CIDRs exempt from SSRF.")
    webhook_allow_http: bool = False
    webhook_timeout_seconds: float = Field(
        10, gt=0, le=60, description="A delivery attempt's whole exchange, connect to last byte.")
    webhook_lease_seconds: float = Field(
        60, ge=1, description="How long an attempt is reserved for one worker; a worker killed "
                              "mid-delivery leaves it to be retried after this.")
    webhook_max_in_flight: int = Field(
        5, ge=1, description="Attempts one webhook may have running at once (all workers): "
                             "a slow subscriber holds no more of the workers' job slots.")

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str | None) -> str | None:
        if value and value.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        return value

    @model_validator(mode="after")
    def _real_secret_outside_development(self) -> Settings:
        if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            if self.environment is Environment.production:
                raise ValueError(
                    "SECRET_KEY is unset or a placeholder; set a long random value "
                    "(or ENVIRONMENT=development to generate one under DATA_DIR)"
                )
            self.secret_key = _dev_secret(self.data_dir)
        elif len(self.secret_key) < 32 and self.environment is Environment.production:
            raise ValueError("SECRET_KEY must be at least 32 characters")
        return self

    @property
    def queue_name(self) -> str:
        return f"{self.redis_namespace}:queue"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError("DATABASE_URL is not set (or run `switchboard dev`)")
        return self.database_url

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise RuntimeError("REDIS_URL is not set (or run `switchboard dev`)")
        return self.redis_url


def _dev_secret(data_dir: Path) -> str:
    """A development secret generated once and kept under DATA_DIR."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        path.chmod(0o600)
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
