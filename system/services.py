"""The system's dependencies, built once by the app factory and handed to the routes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from system.clock import Clock
from system.http.ratelimit import RateLimiter
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
    signup_limiter: RateLimiter
