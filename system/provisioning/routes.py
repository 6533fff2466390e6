"""HTTP endpoints of provisioning: onboarding, the signup form, /me and API keys."""

from __future__ import annotations

import time
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from system.http.auth import principal_of
from system.http.bodies import field_errors, read_model
from system.http.problems import Problem
from system.idempotency import MAX_KEY_LENGTH, IdempotencyKeyReused
from system.ids import new_id
from system.provisioning import api_keys, store
from system.provisioning.emails import EmailRejected
from system.provisioning.forms import OnboardBody, client_address, schedule_stripe
from system.provisioning.service import (
    DuplicateCustomer,
    OnboardResult,
    Signup,
    public_customer,
    public_key,
)
from system.services import Services


class NewKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = Field(
        default=None
    )


class ProvisioningEndpoints:
    """The endpoints, bound to the services they need."""

    def __init__(self, services: Services, templates: Jinja2Templates) -> None:
        self.services = services
        self.templates = templates

    def routes(self) -> list[Route]:
        """The routes anyone may call."""
        return [
            Route("/api/v1/customers/onboard", self.onboard, methods=["POST"]),
            Route("/signup", self.signup_form, methods=["GET"]),
            Route("/signup", self.signup_submit, methods=["POST"]),
        ]

    def api_key_routes(self) -> list[Route]:
        """The routes that act for the customer of the request's API key."""
        return [
            Route("/api/v1/me", self.me, methods=["GET"]),
            Route("/api/v1/api-keys", self.list_keys, methods=["GET"]),
            Route("/api/v1/api-keys", self.create_key, methods=["POST"]),
            Route("/api/v1/api-keys/{key_id}", self.revoke_key, methods=["DELETE"]),
        ]

    async def _provision(self, request: Request, signup: Signup, key: str | None) -> OnboardResult:
        """Rate limit, onboard, measure; domain errors become problems."""
        metrics = self.services.metrics
        self.services.signup_limiter.hit(client_address(request))
        started = time.perf_counter()
        try:
            result = await self.services.provisioning.onboard(signup, key)
        except EmailRejected as error:
            metrics.signups.labels(error.code).inc()
            raise Problem(
                422,
                "Validation Failed",
                error.reason,
                slug=error.code.replace("_", "-"),
                errors=[{"field": "email", "message": error.reason}],
            ) from None
        except DuplicateCustomer as error:
            metrics.signups.labels("duplicate").inc()
            raise Problem(
                409,
                "Customer Exists",
                f"A customer with the address {error} exists already.",
                slug="duplicate-customer",
            ) from None
        except IdempotencyKeyReused:
            metrics.signups.labels("idempotency_conflict").inc()
            raise Problem(
                422,
                "Idempotency Key Reused",
                "This Idempotency-Key was used with a different request body.",
                slug="idempotency-key-reused",
            ) from None
        if not result.replayed:
            metrics.provisioning_seconds.observe(time.perf_counter() - started)
        metrics.signups.labels("replayed" if result.replayed else "created").inc()
        return result

    async def onboard(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
            raise Problem(
                400,
                "Bad Idempotency-Key",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
                slug="bad-idempotency-key",
            )
        body = await read_model(request, OnboardBody)
        signup = Signup(body.email, body.name, body.company, body.github_org)
        result = await self._provision(request, signup, key)
        headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
        response = JSONResponse(result.body, 201, headers=headers)
        schedule_stripe(self.services, response, result)
        return response

    async def signup_form(self, request: Request) -> Response:
        return self.templates.TemplateResponse(request, "signup.html", {"values": {}})

    async def signup_submit(self, request: Request) -> Response:
        form = await request.form()
        values = {
            k: str(form.get(k) or "").strip() for k in ("email", "name", "company", "github_org")
        }
        try:
            body = OnboardBody.model_validate({k: v for k, v in values.items() if v})
        except ValidationError as error:
            errors = [f"{e['field']}: {e['message']}" for e in field_errors(error)]
            return self.templates.TemplateResponse(
                request, "signup.html", {"values": values, "errors": errors}, status_code=422
            )
        try:
            result = await self._provision(
                request, Signup(body.email, body.name, body.company, body.github_org), None
            )
        except Problem as problem:
            return self.templates.TemplateResponse(
                request,
                "signup.html",
                {"values": values, "errors": [problem.detail or problem.title]},
                status_code=problem.status,
                headers=problem.headers,
            )
        response = self.templates.TemplateResponse(
            request, "welcome.html", {"result": result.body}, status_code=201
        )
        response.headers["Cache-Control"] = "no-store"
        schedule_stripe(self.services, response, result)
        return response

    async def me(self, request: Request) -> Response:
        principal = principal_of(request)
        async with self.services.engine.connect() as connection:
            customer = await store.get_customer(connection, principal.customer_id)
        assert customer is not None
        body: dict[str, Any] = public_customer(customer)
        body["stripe_customer_id"] = customer["stripe_customer_id"]
        return JSONResponse(body)

    async def list_keys(self, request: Request) -> Response:
        principal = principal_of(request)
        async with self.services.engine.connect() as connection:
            keys = await store.list_keys(connection, principal.customer_id)
        return JSONResponse({"data": [public_key(k) for k in keys]})

    async def create_key(self, request: Request) -> Response:
        principal = principal_of(request)
        body = await read_model(request, NewKeyBody)
        issued = api_keys.issue(self.services.settings.api_key_environment)
        row = {
            "id": new_id("key"),
            "customer_id": principal.customer_id,
            "prefix": issued.prefix,
            "key_hash": issued.key_hash,
            "label": body.label,
            "created_at": self.services.clock.now(),
            "last_used_at": None,
            "revoked_at": None,
        }
        async with self.services.engine.begin() as connection:
            await store.insert_api_key(connection, row)
        return JSONResponse({**public_key(row), "api_key": issued.plaintext}, 201)

    async def revoke_key(self, request: Request) -> Response:
        principal = principal_of(request)
        async with self.services.engine.begin() as connection:
            row = await store.revoke_key(
                connection,
                principal.customer_id,
                request.path_params["key_id"],
                self.services.clock.now(),
            )
        if row is None:
            raise Problem(404, "Not Found", "No such API key.", slug="not-found")
        return JSONResponse(public_key(row))
