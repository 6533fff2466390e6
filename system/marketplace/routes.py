"""`POST /webhooks/github`: signed GitHub Marketplace webhooks, applied once per delivery."""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from system.http.problems import Problem
from system.marketplace import plans, signatures
from system.services import Services

log = logging.getLogger(__name__)
MAX_EVENT_BYTES = 512 * 1024


class GitHubWebhooks:
    def __init__(self, services: Services) -> None:
        self.services = services

    def routes(self) -> list[Route]:
        return [Route("/webhooks/github", self.receive, methods=["POST"])]

    async def receive(self, request: Request) -> Response:
        secret = self.services.settings.github_webhook_secret
        if not secret:
            raise Problem(
                503,
                "Webhooks Not Configured",
                "GITHUB_WEBHOOK_SECRET is not set.",
                slug="no-secret",
            )
        body = await request.body()
        if len(body) > MAX_EVENT_BYTES:
            raise Problem(413, "Payload Too Large", "Event too large.", slug="payload-too-large")
        if not signatures.verify(secret, body, request.headers.get("x-hub-signature-256")):
            raise Problem(
                401,
                "Bad Signature",
                "X-Hub-Signature-256 is missing or does not match the body.",
                slug="bad-signature",
            )
        delivery = request.headers.get("x-github-delivery", "").strip()
        if not 0 < len(delivery) <= 100:
            raise Problem(
                400, "Missing Delivery Id", "X-GitHub-Delivery is required.", slug="no-delivery"
            )
        event = request.headers.get("x-github-event", "")
        if event != "marketplace_purchase":
            return JSONResponse({"received": True, "applied": False, "ignored": event or None})
        try:
            purchase = plans.parse(json.loads(body))
        except (ValueError, UnicodeDecodeError) as error:
            raise Problem(
                422, "Bad Payload", f"Not a marketplace_purchase event: {error}", slug="bad-payload"
            ) from None
        outcome = await self.services.marketplace.apply(delivery, purchase)
        log.info("github delivery %s %s: %s", delivery, purchase.action, outcome)
        return JSONResponse(outcome.body())
