"""The system's dependencies, built once by the app factory and handed to the routes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from system.billing.service import Billing
from system.clock import Clock
from system.dashboard.live import ChangeBroker
from system.http.ratelimit import RateLimiter
from system.marketplace.service import MarketplaceService
from system.metrics import Metrics
from system.provisioning.service import ProvisioningService
from system.settings import Settings
from system.stripe_gateway import StripeGateway


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    clock: Clock
    stripe: StripeGateway
    metrics: Metrics
    provisioning: ProvisioningService
    billing: Billing
    signup_limiter: RateLimiter
    # Change notices for the dashboard's live pages, and GitHub Marketplace purchases.
    changes: ChangeBroker
    marketplace: MarketplaceService
    # From settings, or from registering our endpoint at Stripe when settings have none.
    stripe_webhook_secret: str | None = None

    def webhook_secret(self) -> str | None:
        return self.stripe_webhook_secret or self.settings.stripe_webhook_secret
