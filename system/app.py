"""The application, assembled in one place from settings and the dependencies passed in."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from system import idempotency
from system.admin.routes import AdminEndpoints
from system.billing.context import BillingContext, BillingPolicy
from system.billing.routes import BillingEndpoints
from system.billing.service import Billing
from system.billing.webhooks import StripeWebhooks
from system.clock import Clock, FileClock, SystemClock
from system.dashboard.billing_routes import BillingPages
from system.dashboard.live import ChangeBroker
from system.dashboard.routes import DashboardEndpoints
from system.dashboard.sign_in_routes import SignInEndpoints
from system.db.engine import create_engine
from system.http.auth import with_api_key
from system.http.problems import (
    Problem,
    handle_http_exception,
    handle_problem,
    handle_unavailable,
    handle_unexpected,
)
from system.http.ratelimit import RateLimiter
from system.marketplace.routes import GitHubWebhooks
from system.marketplace.service import MarketplaceService
from system.metrics import Metrics
from system.provisioning.authentication import ApiKeyBackend
from system.provisioning.routes import ProvisioningEndpoints
from system.provisioning.service import ProvisioningPolicy, ProvisioningService
from system.services import Services
from system.settings import Settings
from system.stripe_gateway import StripeGateway

log = logging.getLogger(__name__)
HEALTH_SECONDS = 2.0
# What a database that dropped, refused or timed out raises: answered 503 with Retry-After.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    DBAPIError,  # OperationalError, InterfaceError, a connection invalidated mid-statement
    SQLAlchemyTimeoutError,  # no pooled connection free in time
    ConnectionError,  # the driver could not connect at all (refused, reset)
    TimeoutError,  # connect or statement timeout
)
TEMPLATES = Path(__file__).parent / "web" / "templates"
STATIC = Path(__file__).parent / "web" / "static"


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
    stripe: StripeGateway | None = None,
) -> Services:
    """Everything the routes need, from settings unless given."""
    if clock is None:
        clock = (
            FileClock(settings.simulated_clock_file)
            if settings.simulated_clock_file
            else SystemClock()
        )
    engine = engine or create_engine(settings.database_url)
    stripe = stripe or StripeGateway(
        settings.stripe_api_key,
        settings.stripe_api_base,
        timeout_seconds=settings.stripe_timeout_seconds,
        max_network_retries=settings.stripe_max_network_retries,
        test_clock=settings.stripe_test_clock,
    )
    policy = ProvisioningPolicy(
        trial_credits=settings.trial_credits,
        key_environment=settings.api_key_environment,
        check_deliverability=settings.check_email_deliverability,
        stripe_after_signup=settings.stripe_sync_mode == "after_response",
    )
    provisioning = ProvisioningService(engine, stripe, clock, policy)
    changes = ChangeBroker()
    billing = Billing.build(
        BillingContext(
            engine=engine,
            stripe=stripe,
            clock=clock,
            stripe_customer_of=provisioning.sync_stripe_customer,
            policy=BillingPolicy(grace_period=timedelta(days=settings.dunning_grace_days)),
            on_change=changes.publish,
        )
    )
    return Services(
        settings=settings,
        engine=engine,
        clock=clock,
        stripe=stripe,
        metrics=Metrics(),
        provisioning=provisioning,
        billing=billing,
        signup_limiter=RateLimiter(
            settings.signup_rate_limit, settings.signup_rate_window_seconds, time.monotonic
        ),
        changes=changes,
        marketplace=MarketplaceService(engine, provisioning, clock, changes.publish),
    )


async def register_webhook_endpoint(services: Services, public_url: str) -> str:
    """Register `<public_url>/webhooks/stripe` at Stripe and use the secret it returns."""
    from system.billing.stripe_events import HANDLED_EVENTS

    url = f"{public_url.rstrip('/')}/webhooks/stripe"
    secret = await services.stripe.register_webhook_endpoint(url, HANDLED_EVENTS)
    services.stripe_webhook_secret = secret
    return secret


async def maintain(services: Services) -> dict[str, int]:
    """One pass of upkeep: complete the Stripe side of customers whose signup could not
    reach Stripe (in worker mode, only if the worker seems away), settle money-moving
    intents a crash left pending, and forget idempotent answers older than their time to
    live."""
    outcome = await services.provisioning.sync_left_behind()
    settled = await services.billing.settlement.run()
    outcome["intents_settled"] = len(settled.settled) - len(settled.unsettled)
    horizon = services.clock.now() - timedelta(seconds=services.settings.idempotency_ttl_seconds)
    async with services.engine.begin() as connection:
        outcome["idempotency_purged"] = await idempotency.purge_older_than(connection, horizon)
    return outcome


async def _maintain_forever(services: Services) -> None:
    """Upkeep now (what a crash before this start left pending is settled at once) and
    every `stripe_sync_interval_seconds` after."""
    interval = services.settings.stripe_sync_interval_seconds
    first = True
    while True:
        if not first:
            await asyncio.sleep(interval)
        first = False
        try:
            await maintain(services)
        except Exception:  # keep going: a database blip must not end the loop
            log.exception("maintenance pass failed")


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    background_tasks: bool = True,
) -> Starlette:
    """The Starlette app. Pass `services` to inject a clock, an engine or a Stripe gateway."""
    services = services or build_services(settings or Settings())
    templates = Jinja2Templates(directory=str(TEMPLATES))

    async def health(request: Request) -> Response:
        """Within HEALTH_SECONDS whatever the database does; no driver text to anyone."""

        async def ping() -> None:
            async with services.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(ping(), HEALTH_SECONDS)
        except Exception:
            log.warning("health check: the database did not answer", exc_info=True)
            return JSONResponse({"status": "unavailable", "database": "unavailable"}, 503)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_maintain_forever(services)) if background_tasks else None
        try:
            yield
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await services.stripe.close()
            await services.engine.dispose()

    session = Middleware(
        SessionMiddleware,
        secret_key=services.settings.session_secret or secrets.token_urlsafe(32),
        session_cookie="rsolv_session",
        max_age=services.settings.session_max_age_seconds,
        same_site="lax",
        https_only=services.settings.secure_cookies,
    )
    # Sessions only where people sign in: the API and webhooks neither read nor set cookies.
    signed_in = [
        Route(route.path, route.endpoint, methods=route.methods, middleware=[session])
        for route in [
            *SignInEndpoints(services, templates).routes(),
            *DashboardEndpoints(services, templates).routes(),
            *BillingPages(services, templates).routes(),
            *AdminEndpoints(services, templates).routes(),
        ]
    ]
    provisioning = ProvisioningEndpoints(services, templates)
    routes = [
        Route("/health", health),
        Route("/metrics", metrics),
        *provisioning.routes(),
        *with_api_key(
            [*provisioning.api_key_routes(), *BillingEndpoints(services).api_key_routes()],
            ApiKeyBackend(services.engine, services.clock),
        ),
        *StripeWebhooks(services).routes(),
        *GitHubWebhooks(services).routes(),
        *signed_in,
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            Problem: handle_problem,
            HTTPException: handle_http_exception,
            **dict.fromkeys(DATABASE_UNAVAILABLE, handle_unavailable),
            # A constraint or a value the database refused is our bug, not an outage.
            IntegrityError: handle_unexpected,
            DataError: handle_unexpected,
            Exception: handle_unexpected,
        },
    )
    app.state.services = services
    return app


def create_served_app() -> Starlette:
    """The app as `rsolv-billing serve` runs it, once in each worker process.

    The process is the app's alone, so everything built at startup (modules, routes,
    SQLAlchemy's tables and compiled cache) is moved out of the cyclic GC's sight and its
    young generation is collected less often: full collections over all of it paused
    requests, and were most of the signup benchmark's p99 tail (docs/BENCHMARKS.md).
    """
    app = create_app()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    return app
