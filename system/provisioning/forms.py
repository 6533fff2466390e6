"""What the API's onboarding, the /signup page and the dashboard's signup share: the body
they validate, the client address the signup rate limit counts, and the Stripe follow-up
each answer schedules."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from system.provisioning.service import OnboardResult
from system.services import Services

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
GithubOrg = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
]


class OnboardBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320)]
    name: Name
    company: Name | None = None
    github_org: GithubOrg | None = None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def schedule_stripe(services: Services, response: Response, result: OnboardResult) -> None:
    """Create the new customer's Stripe customer once `response` is sent, unless the
    answer is a replay or the Stripe worker does it (STRIPE_SYNC_MODE=worker)."""
    follow_up = services.provisioning.stripe_follow_up(result)
    if follow_up is None:
        return

    async def sync() -> None:
        synced = await follow_up()
        services.metrics.stripe_syncs.labels("synced" if synced else "deferred").inc()

    response.background = BackgroundTask(sync)
