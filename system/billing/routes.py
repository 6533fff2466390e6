"""HTTP endpoints of billing: payment methods, subscription, credits, invoices, usage."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from system.billing.errors import BILLING_ERRORS, as_problem
from system.http.auth import principal_of
from system.http.bodies import read_model
from system.http.problems import Problem
from system.services import Services

Token = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=255)]


class PaymentMethodBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    payment_method: Token


class SubscribeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    plan: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    at_period_end: bool = True


class FixBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    fix_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    repo: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[\w.-]+/[\w.-]+$", max_length=300)
    ]
    pr_number: int = Field(ge=1, le=10**9)


class BillingEndpoints:
    def __init__(self, services: Services) -> None:
        self.services = services

    def api_key_routes(self) -> list[Route]:
        """Every billing route acts for the customer of the request's API key."""
        return [
            Route("/api/v1/billing/payment-methods", self.add_card, methods=["POST"]),
            Route("/api/v1/billing/payment-methods", self.list_cards, methods=["GET"]),
            Route("/api/v1/billing/payment-methods/{pm_id}", self.remove_card, methods=["DELETE"]),
            Route("/api/v1/billing/subscription", self.get_subscription, methods=["GET"]),
            Route("/api/v1/billing/subscription", self.subscribe, methods=["POST"]),
            Route("/api/v1/billing/subscription", self.cancel, methods=["DELETE"]),
            Route("/api/v1/billing/credits", self.credits, methods=["GET"]),
            Route("/api/v1/billing/invoices", self.invoices, methods=["GET"]),
            Route("/api/v1/usage/fix-deployed", self.fix_deployed, methods=["POST"]),
        ]

    async def add_card(self, request: Request) -> Response:
        principal = principal_of(request)
        body = await read_model(request, PaymentMethodBody)
        try:
            result = await self.services.billing.payment_methods.add(
                principal.customer_id, body.payment_method
            )
        except BILLING_ERRORS as error:
            raise as_problem(error) from None
        return JSONResponse(result, 201)

    async def list_cards(self, request: Request) -> Response:
        principal = principal_of(request)
        cards = await self.services.billing.payment_methods.list(principal.customer_id)
        return JSONResponse({"data": cards})

    async def remove_card(self, request: Request) -> Response:
        principal = principal_of(request)
        try:
            await self.services.billing.payment_methods.remove(
                principal.customer_id, request.path_params["pm_id"]
            )
        except BILLING_ERRORS as error:
            raise as_problem(error) from None
        return Response(status_code=204)

    async def get_subscription(self, request: Request) -> Response:
        principal = principal_of(request)
        return JSONResponse(await self.services.billing.account.summary(principal.customer_id))

    async def subscribe(self, request: Request) -> Response:
        principal = principal_of(request)
        body = await read_model(request, SubscribeBody)
        try:
            result = await self.services.billing.subscriptions.subscribe(
                principal.customer_id, body.plan
            )
        except BILLING_ERRORS as error:
            raise as_problem(error) from None
        return JSONResponse(result, 201)

    async def cancel(self, request: Request) -> Response:
        principal = principal_of(request)
        query = request.query_params.get("at_period_end")
        if query is not None:
            body = CancelBody(at_period_end=query.lower() in {"1", "true", "yes"})
        else:
            body = await read_model(request, CancelBody)
        try:
            result = await self.services.billing.subscriptions.cancel(
                principal.customer_id, at_period_end=body.at_period_end
            )
        except BILLING_ERRORS as error:
            raise as_problem(error) from None
        return JSONResponse(result)

    async def credits(self, request: Request) -> Response:
        principal = principal_of(request)
        try:
            limit = min(100, max(1, int(request.query_params.get("limit", "50"))))
            before_raw = request.query_params.get("before")
            before = int(before_raw) if before_raw else None
        except ValueError:
            raise Problem(
                422,
                "Validation Failed",
                "limit and before must be integers.",
                slug="validation-error",
                errors=[{"field": "limit", "message": "must be an integer"}],
            ) from None
        result = await self.services.billing.account.credits(
            principal.customer_id, limit=limit, before=before
        )
        return JSONResponse(result)

    async def invoices(self, request: Request) -> Response:
        principal = principal_of(request)
        return JSONResponse(
            {"data": await self.services.billing.account.invoices(principal.customer_id)}
        )

    async def fix_deployed(self, request: Request) -> Response:
        principal = principal_of(request)
        body = await read_model(request, FixBody)
        try:
            result, replayed = await self.services.billing.usage.deploy_fix(
                principal.customer_id, body.fix_id, body.repo, body.pr_number
            )
        except BILLING_ERRORS as error:
            raise as_problem(error) from None
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return JSONResponse(result, 200 if replayed else 201, headers=headers)
