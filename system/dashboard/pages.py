"""What the dashboard's pages share: the signed-in customer from the session cookie, CSRF
checks on every form, flash messages, and rendering with the common context."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from system.dashboard import tokens
from system.dashboard.usage import money
from system.provisioning import store as provisioning_store
from system.services import Services

Row = dict[str, Any]
CUSTOMER = "customer_id"
CSRF = "csrf"
LOGIN = "/dashboard/login"


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF)
    if not token:
        token = request.session[CSRF] = tokens.new_token()
    return str(token)


async def csrf_ok(request: Request) -> bool:
    form = await request.form()
    return tokens.same(request.session.get(CSRF), str(form.get("csrf_token") or ""))


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session["flash"] = {"message": message, "kind": kind}


def sign_in(request: Request, customer_id: str) -> None:
    """A fresh session for the customer (and a fresh CSRF token: no fixation). An admin
    session in the same browser is kept."""
    admin = request.session.get("admin")
    request.session.clear()
    if admin:
        request.session["admin"] = admin
    request.session[CUSTOMER] = customer_id
    request.session[CSRF] = tokens.new_token()


class Pages:
    """Rendering with the shared context; base of the dashboard's and admin's endpoints."""

    def __init__(self, services: Services, templates: Jinja2Templates) -> None:
        self.services = services
        self.templates = templates
        templates.env.filters.setdefault("money", money)

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response:
        shared = {
            "csrf_token": csrf_token(request),
            "flash": request.session.pop("flash", None),
            "path": request.url.path,
        }
        response = self.templates.TemplateResponse(
            request, template, {**shared, **(context or {})}, status_code=status_code
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def forbidden(self, request: Request) -> Response:
        return self.render(
            request,
            "dashboard/error.html",
            {
                "title": "Form expired",
                "message": "This form has expired or did not come from this site. "
                "Go back, reload the page and try again.",
            },
            403,
        )

    async def signed_in(self, request: Request) -> Row | None:
        """The session's customer, or None (a suspended customer is signed out)."""
        customer_id = request.session.get(CUSTOMER)
        if not customer_id:
            return None
        async with self.services.engine.connect() as connection:
            customer = await provisioning_store.get_customer(connection, customer_id)
        if customer is None or customer["status"] == "suspended":
            request.session.pop(CUSTOMER, None)
            return None
        return customer


Handler = Callable[[Any, Request, Row], Awaitable[Response]]


def customer_page(handler: Handler) -> Callable[[Any, Request], Awaitable[Response]]:
    """A page for a signed-in customer: others go to the sign-in page; POSTs need CSRF."""

    @functools.wraps(handler)
    async def page(self: Pages, request: Request) -> Response:
        customer = await self.signed_in(request)
        if customer is None:
            return RedirectResponse(LOGIN, 303)
        if request.method == "POST" and not await csrf_ok(request):
            return self.forbidden(request)
        return await handler(self, request, customer)

    return page


def public_form(
    handler: Callable[[Any, Request], Awaitable[Response]],
) -> Callable[[Any, Request], Awaitable[Response]]:
    """A form anyone may post (sign-in, signup), still only from a page of this site."""

    @functools.wraps(handler)
    async def page(self: Pages, request: Request) -> Response:
        if not await csrf_ok(request):
            return self.forbidden(request)
        return await handler(self, request)

    return page
