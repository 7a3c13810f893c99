"""One frozen Settings object, read from the environment (and an optional `.env` file)."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_JWT_SECRET = "dev-only-jwt-secret-do-not-use-in-production"  # noqa: S105
MIN_SECRET_LENGTH = 32


# Where `npx expo start` serves the app in a browser (Metro on 8081; the older webpack dev
# server on 19006): allowed to call a development gateway unless CORS_ORIGINS says otherwise.
EXPO_DEV_ORIGINS = ("http://localhost:8081", "http://127.0.0.1:8081", "http://localhost:19006")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """Configuration that must not be served; the message says what to set."""


@lru_cache(maxsize=1)
def package_version() -> str:
    """Read once: package metadata lookups cost ~100 µs, and `serverInfo` asks on every call."""
    try:
        return version("bountyexpo")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "info"
    # "json" (one object per line) or "text"; unset: json in production, text elsewhere.
    log_format: Literal["json", "text"] | None = None
    # Unset: the Expo dev servers' origins in development (EXPO_DEV_ORIGINS), none otherwise.
    cors_origins: Annotated[tuple[str, ...] | None, NoDecode] = None

    # Unset: a private PostgreSQL under `embedded_pg_dir` (development and tests only).
    database_url: str | None = None
    embedded_pg_dir: Path = Path("var/pgdata")
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_statement_timeout_ms: int = Field(default=5_000, ge=0)
    # A pooled connection idle longer than this is pinged when checked out (0: every checkout).
    db_ping_idle_seconds: float = Field(default=5.0, ge=0)
    # A connection attempt to an unreachable PostgreSQL gives up after this (SERVICE_UNAVAILABLE).
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0)

    redis_url: str | None = None
    # /health/ready answers 503 while Redis does not (when REDIS_URL is set).
    readiness_requires_redis: bool = False
    # Revocations are answered from memory (services/revocation_cache.py): reloaded from
    # PostgreSQL every RESYNC seconds; older than STALENESS, lookups go to PostgreSQL (and fail
    # closed when it does not answer).
    revocation_resync_seconds: float = Field(default=1.0, gt=0)
    revocation_staleness_seconds: float = Field(default=30.0, gt=0)

    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_issuer: str = "bountyexpo"
    jwt_audience: str = "bountyexpo-app"
    # Identity and access. HS256 signs with JWT_SECRET; RS256/EdDSA with JWT_PRIVATE_KEY (PEM).
    jwt_algorithm: Literal["HS256", "RS256", "EdDSA"] = "HS256"
    jwt_key_id: str = "k1"
    jwt_private_key: SecretStr | None = None
    # Keys retired by a rotation but still accepted: {"kid": "secret or public PEM"} (JSON).
    jwt_previous_keys: dict[str, str] = Field(default_factory=dict)
    access_token_ttl_seconds: int = Field(default=900, ge=30)
    refresh_token_ttl_days: int = Field(default=30, ge=1)
    refresh_reuse_grace_seconds: float = Field(default=10.0, ge=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    password_reset_url: str = "bountyexpo://reset-password?token={token}"  # noqa: S105
    mail_from: str = "BountyExpo <no-reply@bountyexpo.dev>"
    media_dir: Path = Path("var/media")
    # Base of absolute media URLs (`https://api.example.com`); unset: each request's own origin.
    public_base_url: str | None = None
    # Payments: STRIPE_SECRET_KEY switches from the sandbox stand-in to Stripe.
    stripe_secret_key: SecretStr | None = None
    stripe_publishable_key: str | None = None  # pk_...: handed to the app's PaymentSheet
    stripe_webhook_secret: SecretStr | None = None
    # The previous signing secret, accepted too while a rotation settles (unset after a day).
    stripe_previous_webhook_secret: SecretStr | None = None
    # Another Stripe-compatible API base (localstripe in tests); unset: Stripe's own.
    stripe_api_base: str | None = None
    stripe_timeout_seconds: float = Field(default=10.0, gt=0)
    # Production refuses the sandbox payments stand-in unless this says it may run on it.
    allow_sandbox_payments: bool = False
    # The platform's share of a released reward, in basis points (1000 = 10%), recorded on each
    # bounty when it is funded.
    platform_fee_bps: int = Field(default=1000, ge=0, le=5000)
    # A charge still waiting for the payer (sheet never completed, 3-D Secure abandoned) after
    # this long is cancelled and its bounty returns to DRAFT (`payments.expire_funding`).
    funding_timeout_minutes: int = Field(default=60, ge=1, le=10_080)
    # Payouts: the smallest `requestPayout` amount, in minor units of the payout's currency.
    payout_minimum_minor: int = Field(default=1000, ge=1)
    # Where Stripe's hosted Connect onboarding sends the hunter back (`payoutAccountLink`):
    # `return` when they finished or left, `refresh` when the link expired (ask for a new one).
    payout_onboarding_return_url: str = "https://bountyexpo.dev/payouts/return"
    payout_onboarding_refresh_url: str = "https://bountyexpo.dev/payouts/refresh"

    # None means "on outside production".
    graphiql: bool | None = None
    introspection: bool | None = None

    # Background workers (PgQueuer). Queues are job domains (`system`, ...); empty serves all.
    worker_queues: Annotated[tuple[str, ...], NoDecode] = ()
    worker_concurrency: int = Field(default=10, ge=2)
    worker_shutdown_timeout_seconds: float = Field(default=30.0, gt=0)
    # A picked job whose heartbeat is older than this is taken over by another worker.
    worker_heartbeat_timeout_seconds: float = Field(default=30.0, gt=0)
    worker_heartbeat_interval_seconds: float = Field(default=10.0, gt=0)
    # Longest wait for a NOTIFY before a worker looks for work anyway (stale jobs, missed wakes).
    worker_poll_interval_seconds: float = Field(default=5.0, gt=0)
    # None means "on in development only": one worker inside the gateway process.
    worker_embedded: bool | None = None
    # Extra modules whose entrypoints a worker serves too (tests, one-off tools).
    worker_modules: Annotated[tuple[str, ...], NoDecode] = ()
    # Where a worker process serves /metrics for Prometheus; unset: not served.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # Observability (README "Observability"). /metrics* and /health/detailed answer callers that
    # present METRICS_TOKEN as a bearer token or connect from METRICS_ALLOWED_NETWORKS.
    metrics_enabled: bool = True
    metrics_token: SecretStr | None = None
    metrics_allowed_networks: Annotated[tuple[str, ...], NoDecode] = ("127.0.0.1/32", "::1/128")
    metrics_resolver_sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    tracing_enabled: bool = True
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "bountyexpo-gateway"
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    trace_buffer_spans: int = Field(default=2_000, ge=1)
    alert_rules_file: Path | None = None
    alert_webhook_url: str | None = None
    alert_evaluation_interval_seconds: float = Field(default=15.0, gt=0)
    # Hardening (app/security/): query limits, rate limits, persisted operations, HTTP.
    max_query_depth: int = Field(default=10, ge=1)
    max_aliases: int = Field(default=15, ge=0)
    max_directives: int = Field(default=50, ge=0)
    max_tokens: int = Field(default=1_000, ge=1)
    max_document_chars: int = Field(default=15_000, ge=1)
    max_root_fields: int = Field(default=20, ge=1)
    max_query_cost: int = Field(default=5_000, ge=1)
    # Operations that select only __schema/__type/__typename (GraphiQL, codegen, rover) are
    # measured against these instead, while introspection is on: the standard introspection
    # query is 15 levels deep and costs about 67,000 (app/security/introspection.py).
    introspection_max_depth: int = Field(default=20, ge=1)
    introspection_max_tokens: int = Field(default=2_000, ge=1)
    introspection_max_cost: int = Field(default=100_000, ge=1)
    operation_timeout_seconds: float = Field(default=10.0, gt=0)
    batching: bool = False
    # Operations run on the compiled executor (app/execution/); false: graphql-core's.
    compiled_execution: bool = True
    # Run every operation on both executors and fail it if they differ (tests, not production).
    execution_check: bool = False
    batch_max_operations: int = Field(default=10, ge=1, le=100)
    # None means "hidden in production": "Did you mean ...?" in validation errors.
    field_suggestions: bool | None = None
    rate_limits: bool = True
    rate_limit_ip_per_15min: int = Field(default=1_000, ge=1)
    rate_limit_auth_per_15min: int = Field(default=5, ge=1)
    rate_limit_user_per_minute: int = Field(default=600, ge=1)
    rate_limit_cost_unit: int = Field(default=100, ge=1)
    rate_limit_payments_per_minute: int = Field(default=10, ge=1)
    rate_limit_events_per_minute: int = Field(default=120, ge=1)
    # Load shedding (app/load_shedding.py): HTTP requests served at once per process, how many
    # more may wait and for how long; beyond, 503 with Retry-After. 0 in-flight turns it off.
    shed_max_in_flight: int = Field(default=32, ge=0)
    shed_queue_size: int = Field(default=64, ge=0)
    shed_queue_timeout_seconds: float = Field(default=0.5, gt=0)
    shed_retry_after_seconds: int = Field(default=1, ge=1)
    # Password hashing (services/passwords.py): argon2 threads per process, and how many more
    # hashes may wait; beyond, sign-in and sign-up answer 503 SERVICE_UNAVAILABLE at once.
    password_hash_threads: int = Field(default=1, ge=1)
    password_hash_queue: int = Field(default=8, ge=0)
    # "apq": Automatic Persisted Queries; "trusted": only registered operations run; "off".
    persisted_operations: Literal["off", "apq", "trusted"] = "apq"
    apq_ttl_seconds: int = Field(default=86_400, ge=60)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Variables per operation and their encoded size (app/request_bodies.py): beyond them a
    # request is refused with 400 (a WebSocket operation closes with 4400) before anything runs.
    max_variables: int = Field(default=100, ge=0)
    max_variables_bytes: int = Field(default=256 * 1024, ge=1024)
    # Client addresses or CIDR blocks of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # Strict-Transport-Security max-age, sent on requests that came over TLS; 0 turns it off.
    hsts_seconds: int = Field(default=31_536_000, ge=0)
    # A socket that has not sent `connection_init` by then is closed with 4408.
    ws_init_timeout_seconds: float = Field(default=10.0, gt=0)
    # Server pings keep mobile sockets open (Android drops them after ~10 s idle).
    ws_ping_interval_seconds: float = Field(default=8.0, gt=0)
    # How often an open socket's access token is checked again (sign-out, suspension, expiry).
    ws_auth_recheck_seconds: float = Field(default=30.0, gt=0)
    # permessage-deflate on sockets (off: a zlib context per socket costs more than it saves).
    ws_per_message_deflate: bool = False
    # Open sockets per account (across instances when REDIS_URL is set); the next is closed 4429.
    ws_max_sockets_per_user: int = Field(default=10, ge=1)
    # Messaging: body length, and at most one typing indicator per user and conversation per N s.
    message_max_chars: int = Field(default=4_000, ge=1, le=4_000)
    typing_throttle_seconds: float = Field(default=3.0, ge=0)
    # Outgoing mail: "smtp" (SMTP_HOST ...) or "log", a stand-in that writes mail to the log.
    # Unset: smtp when SMTP_HOST is set, else log; production refuses log unless
    # ALLOW_LOG_ONLY_MAIL.
    mail_backend: Literal["smtp", "log"] | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # "starttls" (port 587), "tls" (implicit TLS, port 465) or "none" (local relays, tests).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    allow_log_only_mail: bool = False
    # Push: "expo" (Expo's push service at EXPO_PUSH_URL) or "log", a stand-in.
    # Unset: expo in production, log elsewhere. Production refuses log unless ALLOW_LOG_ONLY_PUSH.
    push_backend: Literal["expo", "log"] | None = None
    expo_push_url: str = "https://exp.host"
    expo_access_token: SecretStr | None = None
    expo_timeout_seconds: float = Field(default=10.0, gt=0)
    # Receipts are ready 15-30 minutes after a push; polled for tickets at least this old.
    push_receipt_delay_seconds: float = Field(default=900.0, ge=0)
    allow_log_only_push: bool = False

    @field_validator(
        "cors_origins", "trusted_proxies", "worker_queues", "worker_modules", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("metrics_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(network.strip() for network in value.split(",") if network.strip())
        for network in value:
            ip_network(network, strict=False)  # ValueError names the malformed entry
        return value

    @field_validator("public_base_url")
    @classmethod
    def _absolute_base(cls, value: str | None) -> str | None:
        if not value:
            return None
        base = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", base):
            raise ValueError(
                "PUBLIC_BASE_URL must be an absolute http(s) URL, e.g. https://api.example.com"
            )
        return base

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"critical", "error", "warning", "info", "debug"}:
            raise ValueError("LOG_LEVEL must be one of critical, error, warning, info, debug")
        return level

    @model_validator(mode="after")
    def _production_is_configured(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            problems = production_problems(self)
            if problems:
                raise SettingsError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """Browser origins allowed to call the API (CORS) and open sockets."""
        if self.cors_origins is not None:
            return self.cors_origins
        return EXPO_DEV_ORIGINS if self.environment is Environment.DEVELOPMENT else ()

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def embedded_worker_enabled(self) -> bool:
        if self.worker_embedded is not None:
            return self.worker_embedded
        return self.environment is Environment.DEVELOPMENT

    @property
    def field_suggestions_enabled(self) -> bool:
        if self.field_suggestions is not None:
            return self.field_suggestions
        return not self.is_production

    @property
    def version(self) -> str:
        return package_version()

    @property
    def mail_is_log_only(self) -> bool:
        backend = self.mail_backend or ("smtp" if self.smtp_host else "log")
        return backend == "log"

    @property
    def push_is_log_only(self) -> bool:
        backend = self.push_backend or ("expo" if self.is_production else "log")
        return backend == "log"


def production_problems(settings: Settings) -> list[str]:
    """Every reason the settings are unfit for production, each naming the variable to set."""
    problems = []
    jwt = settings.jwt_secret.get_secret_value()
    if settings.jwt_algorithm != "HS256":
        if settings.jwt_private_key is None:
            problems.append(
                f"JWT_PRIVATE_KEY must be set for JWT_ALGORITHM={settings.jwt_algorithm}"
            )
    elif jwt == DEFAULT_JWT_SECRET or len(jwt) < MIN_SECRET_LENGTH:
        problems.append(f"JWT_SECRET must be set to a random value of {MIN_SECRET_LENGTH}+ chars")
    if settings.stripe_secret_key is not None or not settings.allow_sandbox_payments:
        # Stripe, or the sandbox stand-in only where ALLOW_SANDBOX_PAYMENTS=true says so.
        for name in ("stripe_secret_key", "stripe_webhook_secret"):
            secret: SecretStr | None = getattr(settings, name)
            if secret is None or not secret.get_secret_value().strip():
                problems.append(
                    f"{name.upper()} must be set (ALLOW_SANDBOX_PAYMENTS=true runs payments "
                    "on the sandbox stand-in instead)"
                )
        if not (settings.stripe_publishable_key or "").startswith("pk_"):
            problems.append("STRIPE_PUBLISHABLE_KEY must be set (pk_...) for the PaymentSheet")
        for name in ("payout_onboarding_return_url", "payout_onboarding_refresh_url"):
            if not getattr(settings, name).startswith("https://"):
                problems.append(
                    f"{name.upper()} must be an https:// URL (Stripe's live mode refuses others)"
                )
    if not settings.database_url:
        problems.append("DATABASE_URL must point at the production PostgreSQL")
    if settings.mail_is_log_only and not settings.allow_log_only_mail:
        problems.append(
            "SMTP_HOST must be set (mail would only be logged; "
            "ALLOW_LOG_ONLY_MAIL=true accepts that)"
        )
    elif not settings.mail_is_log_only and not settings.smtp_host:
        problems.append("SMTP_HOST must be set for MAIL_BACKEND=smtp")
    if settings.push_is_log_only and not settings.allow_log_only_push:
        problems.append(
            "PUSH_BACKEND=log only logs push notifications; set ALLOW_LOG_ONLY_PUSH=true to accept"
        )
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
