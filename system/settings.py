"""Settings: every knob of the system in one place, read from the environment or flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = f"sqlite:///{Path('var') / 'rsolv.db'}"


class Settings(BaseSettings):
    """Configuration for the app, the CLI and the background tasks.

    Each field is read from the environment variable of the same name (upper case).
    """

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    stripe_api_base: str = "https://api.stripe.com"
    stripe_api_key: str = "sk_test_rsolv_local_development"
    stripe_webhook_secret: str | None = None
    stripe_timeout_seconds: float = Field(default=5.0, gt=0)
    stripe_max_network_retries: int = Field(default=1, ge=0)
    stripe_sync_interval_seconds: float = Field(default=30.0, gt=0)
    # after_response: each API process creates a new customer's Stripe customer just after
    # answering the signup; worker: signup only queues it for `rsolv-billing stripe-worker`.
    stripe_sync_mode: Literal["after_response", "worker"] = "after_response"
    stripe_webhook_tolerance_seconds: int = Field(default=300, gt=0)
    # Test mode only: Stripe customers are created on this test clock (the simulator's).
    stripe_test_clock: str | None = None
    # Simulations only: the system's clock is the epoch written in this file (FileClock).
    simulated_clock_file: str | None = None
    dunning_grace_days: float = Field(default=7.0, ge=0)

    trial_credits: int = Field(default=5, ge=0)
    api_key_environment: str = Field(default="test", pattern=r"^(test|live)$")

    signup_rate_limit: int = Field(default=20, ge=0, description="signups per window; 0 = off")
    signup_rate_window_seconds: float = Field(default=60.0, gt=0)

    check_email_deliverability: bool = False
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)

    public_url: str | None = None

    # Dashboard: signed session cookies (a random per-process secret when unset, so
    # sessions end at restart), magic links, and the admin's own credential.
    session_secret: str | None = None
    session_max_age_seconds: int = Field(default=14 * 24 * 3600, gt=0)
    secure_cookies: bool = False
    magic_link_ttl_seconds: int = Field(default=15 * 60, gt=0)
    admin_username: str = "admin"
    admin_password: str | None = Field(default=None, description="unset: /admin is closed")

    # GitHub Marketplace: the secret GitHub signs marketplace_purchase webhooks with.
    github_webhook_secret: str | None = None
