from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.settings import DEFAULT_JWT_SECRET, Environment, Settings

STRONG = "x" * 48


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_serve_a_local_development_gateway() -> None:
    current = settings()
    assert current.environment is Environment.DEVELOPMENT
    assert (current.host, current.port) == ("127.0.0.1", 8000)
    assert current.database_url is None
    assert current.jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET
    assert current.graphiql_enabled
    assert current.introspection_enabled


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        settings().port = 9000  # type: ignore[misc]


def test_cors_origins_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example, https://admin.example ,")
    assert settings().cors_origins == ("https://app.example", "https://admin.example")


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9100")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    current = settings()
    assert (current.port, current.log_level) == (9100, "debug")


def test_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValidationError, match="LOG_LEVEL must be one of"):
        settings(log_level="loud")


def test_production_refuses_default_and_missing_secrets_naming_each() -> None:
    with pytest.raises(ValidationError) as raised:
        settings(environment="production")
    message = str(raised.value)
    assert "refusing to start in production" in message
    for variable in (
        "JWT_SECRET",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_PUBLISHABLE_KEY",
        "DATABASE_URL",
        "SMTP_HOST",
    ):
        assert variable in message


def test_production_refuses_log_only_mail_and_push_unless_allowed() -> None:
    secrets = {
        "environment": "production",
        "jwt_secret": STRONG,
        "stripe_secret_key": "sk_live_x",
        "stripe_webhook_secret": "whsec_x",
        "stripe_publishable_key": "pk_test_x",
        "database_url": "postgresql://db/bountyexpo",
    }
    with pytest.raises(ValidationError, match="ALLOW_LOG_ONLY_MAIL") as raised:
        settings(**secrets, push_backend="log")
    assert "ALLOW_LOG_ONLY_PUSH" in str(raised.value)
    allowed = settings(
        **secrets, push_backend="log", allow_log_only_mail=True, allow_log_only_push=True
    )
    assert (allowed.mail_is_log_only, allowed.push_is_log_only) == (True, True)
    real = settings(**secrets, smtp_host="smtp.example.test")
    assert (real.mail_is_log_only, real.push_is_log_only) == (False, False)
    development = settings()
    assert (development.mail_is_log_only, development.push_is_log_only) == (True, True)


def test_production_refuses_a_short_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        settings(
            environment="production",
            jwt_secret="short",
            stripe_secret_key="sk_live_x",
            stripe_webhook_secret="whsec_x",
            stripe_publishable_key="pk_test_x",
            smtp_host="smtp.example.test",
            database_url="postgresql://db/bountyexpo",
        )


def test_production_with_every_secret_set_starts_without_graphiql_or_introspection() -> None:
    current = settings(
        environment="production",
        jwt_secret=STRONG,
        stripe_secret_key="sk_live_x",
        stripe_webhook_secret="whsec_x",
        stripe_publishable_key="pk_test_x",
        smtp_host="smtp.example.test",
        database_url="postgresql://db/bountyexpo",
    )
    assert current.is_production
    assert not current.graphiql_enabled
    assert not current.introspection_enabled


def test_production_refuses_payout_onboarding_urls_that_are_not_https() -> None:
    base = {
        "environment": Environment.PRODUCTION, "database_url": "postgresql://db.invalid/x",
        "jwt_secret": STRONG, "stripe_secret_key": "sk_live_x", "stripe_webhook_secret": "whsec_x",
        "stripe_publishable_key": "pk_live_x", "smtp_host": "smtp.example.test",
    }  # fmt: skip
    assert settings(**base).payout_onboarding_return_url.startswith("https://")
    with pytest.raises(ValidationError, match="PAYOUT_ONBOARDING_RETURN_URL must be an https://"):
        settings(**base, payout_onboarding_return_url="bountyexpo://payouts/return")
