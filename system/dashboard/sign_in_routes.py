"""The dashboard's way in: the sign-in page, a sign-in link by email, signing in with an API
key, signing out, and signing up from the dashboard."""

from __future__ import annotations

import logging
from datetime import timedelta

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from system.dashboard import store, tokens
from system.dashboard.pages import Pages, flash, public_form, sign_in
from system.http.bodies import field_errors
from system.http.problems import Problem
from system.provisioning import api_keys, emails
from system.provisioning import store as provisioning_store
from system.provisioning.emails import EmailRejected
from system.provisioning.forms import OnboardBody, client_address, schedule_stripe
from system.provisioning.service import DuplicateCustomer, Signup

log = logging.getLogger(__name__)


class SignInEndpoints(Pages):
    def routes(self) -> list[Route]:
        return [
            Route("/dashboard/login", self.login_form, methods=["GET"]),
            Route("/dashboard/login/email", self.send_link, methods=["POST"]),
            Route("/dashboard/login/magic", self.magic, methods=["GET"]),
            Route("/dashboard/login/key", self.key_login, methods=["POST"]),
            Route("/dashboard/logout", self.logout, methods=["POST"]),
            Route("/dashboard/signup", self.signup_form, methods=["GET"]),
            Route("/dashboard/signup", self.signup, methods=["POST"]),
        ]

    # -- signing in ------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        if await self.signed_in(request):
            return RedirectResponse("/dashboard", 303)
        return self.render(request, "dashboard/login.html")

    def _login_error(self, request: Request, message: str, status: int = 400) -> Response:
        return self.render(request, "dashboard/login.html", {"error": message}, status)

    @public_form
    async def send_link(self, request: Request) -> Response:
        form = await request.form()
        raw = str(form.get("email") or "").strip()
        try:
            address = emails.normalise(raw)
        except EmailRejected as rejected:
            return self._login_error(request, rejected.reason, 422)
        now = self.services.clock.now()
        async with self.services.engine.begin() as connection:
            customer = await store.customer_by_email_key(connection, address.key)
            if customer is not None and customer["status"] != "suspended":
                token = tokens.new_token()
                ttl = timedelta(seconds=self.services.settings.magic_link_ttl_seconds)
                await store.insert_magic_link(
                    connection, tokens.hash_token(token), customer["id"], now, now + ttl
                )
                base = self.services.settings.public_url or str(request.base_url)
                link = f"{base.rstrip('/')}/dashboard/login/magic?token={token}"
                body = (
                    f"Hello {customer['name']},\n\nSign in to your RSOLV dashboard with this "
                    f"link (valid for {int(ttl.total_seconds() // 60)} minutes, once):\n\n"
                    f"{link}\n\nIf you did not ask for it, ignore this message.\n"
                )
                await store.send_email(
                    connection, customer["email"], "Your RSOLV sign-in link", body, now
                )
                log.info("magic link for %s: %s", customer["email"], link)
        # The same answer whether or not the address has an account.
        return self.render(request, "dashboard/login_sent.html", {"email": address.address})

    async def magic(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        now = self.services.clock.now()
        digest = tokens.hash_token(token)
        async with self.services.engine.begin() as connection:
            link = await store.magic_link(connection, digest) if token else None
            if link is None:
                return self._login_error(request, "This sign-in link is not valid.")
            usable, why = tokens.link_usable(
                expires_at=link["expires_at"], used_at=link["used_at"], now=now
            )
            if not usable or not await store.use_magic_link(connection, digest, now):
                return self._login_error(request, why or "This sign-in link has been used.")
        sign_in(request, link["customer_id"])
        if await self.signed_in(request) is None:
            return self._login_error(request, "This account is suspended.", 403)
        return RedirectResponse("/dashboard", 303)

    @public_form
    async def key_login(self, request: Request) -> Response:
        form = await request.form()
        plaintext = str(form.get("api_key") or "").strip()
        prefix = api_keys.prefix_of(plaintext)
        async with self.services.engine.begin() as connection:
            key = await provisioning_store.find_key(connection, prefix) if prefix else None
            if key is None or not api_keys.verify(plaintext, key["key_hash"]):
                return self._login_error(request, "That API key is not valid.", 401)
            if key["revoked_at"] is not None:
                return self._login_error(request, "That API key has been revoked.", 401)
            await provisioning_store.touch_key(connection, key, self.services.clock.now())
        sign_in(request, key["customer_id"])
        if await self.signed_in(request) is None:
            return self._login_error(request, "This account is suspended.", 403)
        return RedirectResponse("/dashboard", 303)

    @public_form
    async def logout(self, request: Request) -> Response:
        request.session.clear()
        flash(request, "You are signed out.")
        return RedirectResponse("/dashboard/login", 303)

    # -- signup ----------------------------------------------------------------------------

    async def signup_form(self, request: Request) -> Response:
        return self.render(request, "dashboard/signup.html", {"values": {}})

    @public_form
    async def signup(self, request: Request) -> Response:
        form = await request.form()
        fields = ("email", "name", "company", "github_org")
        values = {k: str(form.get(k) or "").strip() for k in fields}

        def refuse(errors: list[str], status: int) -> Response:
            context = {"values": values, "errors": errors}
            return self.render(request, "dashboard/signup.html", context, status)

        try:
            body = OnboardBody.model_validate({k: v for k, v in values.items() if v})
            self.services.signup_limiter.hit(client_address(request))
        except ValidationError as error:
            return refuse([f"{e['field']}: {e['message']}" for e in field_errors(error)], 422)
        except Problem as problem:
            return refuse([problem.detail or problem.title], problem.status)
        signup = Signup(body.email, body.name, body.company, body.github_org)
        try:
            result = await self.services.provisioning.onboard(signup)
        except EmailRejected as rejected:
            return refuse([rejected.reason], 422)
        except DuplicateCustomer:
            return refuse(["An account with this address exists already: sign in instead."], 409)
        self.services.metrics.signups.labels("created").inc()
        sign_in(request, result.customer_id)
        response = self.render(
            request, "dashboard/welcome.html", {"result": result.body}, status_code=201
        )
        schedule_stripe(self.services, response, result)
        return response
