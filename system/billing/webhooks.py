"""`POST /webhooks/stripe`: verifies an event, hands it to billing's Stripe sync once, and
remembers it so that a redelivery is acknowledged without being applied again."""

from __future__ import annotations

import json
import logging
from typing import Any

import stripe
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from system.billing import store
from system.db.tables import stripe_events
from system.http.problems import Problem
from system.services import Services

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 512 * 1024


class StripeWebhooks:
    def __init__(self, services: Services) -> None:
        self.services = services

    def routes(self) -> list[Route]:
        return [Route("/webhooks/stripe", self.receive, methods=["POST"])]

    def _secret(self) -> str:
        secret = self.services.webhook_secret()
        if not secret:
            raise Problem(503, "Webhooks Not Configured", "No webhook secret is configured.")
        return secret

    async def receive(self, request: Request) -> Response:
        payload = await request.body()
        if len(payload) > MAX_EVENT_BYTES:
            raise Problem(413, "Payload Too Large", "Event too large.", slug="payload-too-large")
        try:
            stripe.Webhook.construct_event(
                payload,
                request.headers.get("stripe-signature"),
                self._secret(),
                tolerance=self.services.settings.stripe_webhook_tolerance_seconds,
            )
        except (ValueError, stripe.SignatureVerificationError) as error:
            self.services.metrics.webhooks.labels("refused").inc()
            raise Problem(400, "Bad Signature", str(error), slug="bad-signature") from None
        data: dict[str, Any] = json.loads(payload)
        async with self.services.engine.connect() as connection:
            seen = (
                await connection.execute(
                    select(stripe_events.c.id).where(stripe_events.c.id == data["id"])
                )
            ).first()
        if seen:
            self.services.metrics.webhooks.labels("duplicate").inc()
            return JSONResponse({"received": True, "duplicate": True})
        await self.services.billing.stripe_events.apply(data["type"], data["data"]["object"])
        async with self.services.engine.begin() as connection:
            await store.record_event(
                connection,
                data["id"],
                data["type"],
                int(data.get("created") or 0),
                self.services.clock.now(),
            )
        self.services.metrics.webhooks.labels("applied").inc()
        return JSONResponse({"received": True})
