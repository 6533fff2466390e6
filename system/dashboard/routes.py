"""The dashboard's endpoints under /dashboard: sign-in, signup, the pages, their forms, and
the event stream that keeps balance and usage live."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from system.billing.catalogue import PLANS
from system.billing.errors import BILLING_ERRORS, as_problem
from system.billing.stripe_objects import LIVE_STATUSES
from system.dashboard import store, tokens, usage, workflow
from system.dashboard.pages import (
    Pages,
    Row,
    customer_page,
    flash,
    public_form,
    sign_in,
)
from system.http.bodies import field_errors
from system.http.problems import Problem
from system.ids import new_id
from system.provisioning import api_keys, emails
from system.provisioning import store as provisioning_store
from system.provisioning.emails import EmailRejected
from system.provisioning.routes import OnboardBody, client_address, schedule_stripe
from system.provisioning.service import DuplicateCustomer, Signup, public_key
from system.stripe_gateway import StripeUnavailable

log = logging.getLogger(__name__)
LEDGER_PAGE = 25
CHART_DAYS = 30
TEST_CARDS = ("pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_chargeDeclined")


def _since(subscription: dict[str, Any] | None, now: datetime) -> datetime:
    if subscription and subscription["status"] in LIVE_STATUSES:
        start = subscription.get("current_period_start")
        if start:
            return datetime.fromisoformat(start)
    return usage.month_start(now)


class DashboardEndpoints(Pages):
    stream_seconds = 300.0
    heartbeat_seconds = 15.0

    def routes(self) -> list[Route]:
        return [
            Route("/dashboard/login", self.login_form, methods=["GET"]),
            Route("/dashboard/login/email", self.send_link, methods=["POST"]),
            Route("/dashboard/login/magic", self.magic, methods=["GET"]),
            Route("/dashboard/login/key", self.key_login, methods=["POST"]),
            Route("/dashboard/logout", self.logout, methods=["POST"]),
            Route("/dashboard/signup", self.signup_form, methods=["GET"]),
            Route("/dashboard/signup", self.signup, methods=["POST"]),
            Route("/dashboard", self.overview, methods=["GET"]),
            Route("/dashboard/usage", self.usage, methods=["GET"]),
            Route("/dashboard/keys", self.keys, methods=["GET"]),
            Route("/dashboard/keys", self.create_key, methods=["POST"]),
            Route("/dashboard/keys/{key_id}/revoke", self.revoke_key, methods=["POST"]),
            Route("/dashboard/billing", self.billing, methods=["GET"]),
            Route("/dashboard/billing/cards", self.add_card, methods=["POST"]),
            Route("/dashboard/billing/cards/{pm_id}/remove", self.remove_card, methods=["POST"]),
            Route("/dashboard/billing/subscribe", self.subscribe, methods=["POST"]),
            Route("/dashboard/billing/cancel", self.cancel, methods=["POST"]),
            Route("/dashboard/billing/invoices/{invoice_id}", self.invoice, methods=["GET"]),
            Route("/dashboard/workflow", self.workflow_form, methods=["GET"]),
            Route("/dashboard/workflow", self.workflow, methods=["POST"]),
            Route("/dashboard/events", self.events, methods=["GET"]),
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

    # -- pages -----------------------------------------------------------------------------

    async def summary(self, customer_id: str) -> dict[str, Any]:
        """The live figures: plan, balance, fixes this period, the next invoice."""
        billing = await self.services.billing.account.summary(customer_id)
        sub = billing["subscription"]
        since = _since(sub, self.services.clock.now())
        async with self.services.engine.connect() as connection:
            fixes = await store.fixes_since(connection, customer_id, since)
        next_invoice = None
        live = sub and sub["status"] in LIVE_STATUSES
        if live and not sub["cancel_at_period_end"] and sub["current_period_end"]:
            cents = PLANS[sub["plan"]].monthly_price_cents
            next_invoice = {
                "amount_cents": cents,
                "amount": usage.money(cents),
                "date": sub["current_period_end"][:10],
            }
        return {
            **billing,
            "plan_name": PLANS[billing["plan"]].name,
            "fixes_this_period": fixes,
            "period_start": since.date().isoformat(),
            "next_invoice": next_invoice,
            "next_invoice_text": (
                f"{next_invoice['amount']} on {next_invoice['date']}" if next_invoice else "None"
            ),
        }

    @customer_page
    async def overview(self, request: Request, customer: Row) -> Response:
        summary = await self.summary(customer["id"])
        async with self.services.engine.connect() as connection:
            marketplace = await store.marketplace_account(connection, customer["id"])
        context = {"customer": customer, "summary": summary, "marketplace": marketplace}
        return self.render(request, "dashboard/overview.html", context)

    @customer_page
    async def usage(self, request: Request, customer: Row) -> Response:
        before_raw = request.query_params.get("before", "")
        before = int(before_raw) if before_raw.isdigit() else None
        ledger = await self.services.billing.account.credits(
            customer["id"], limit=LEDGER_PAGE, before=before
        )
        now = self.services.clock.now()
        start = (now - timedelta(days=CHART_DAYS - 1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        async with self.services.engine.connect() as connection:
            moments = await store.fix_times(connection, customer["id"], start)
            opening, entries = await store.ledger_since(connection, customer["id"], start)
        per_day = usage.fixes_per_day(moments, end=now.date(), days=CHART_DAYS)
        balances = usage.balance_per_day(entries, opening=opening, end=now.date(), days=CHART_DAYS)
        context = {
            "customer": customer,
            "ledger": ledger,
            "per_day": per_day,
            "balances": balances,
            "fix_chart": usage.bar_chart(per_day, f"Fixes per day, last {CHART_DAYS} days"),
            "balance_chart": usage.line_chart(
                balances, f"Credit balance per day, last {CHART_DAYS} days"
            ),
            "fixes_total": sum(p.value for p in per_day),
        }
        return self.render(request, "dashboard/usage.html", context)

    async def _keys_page(
        self, request: Request, customer: Row, new_key: dict[str, Any] | None = None
    ) -> Response:
        async with self.services.engine.connect() as connection:
            keys = await provisioning_store.list_keys(connection, customer["id"])
        context = {"customer": customer, "keys": [public_key(k) for k in keys], "new_key": new_key}
        return self.render(request, "dashboard/keys.html", context, 201 if new_key else 200)

    @customer_page
    async def keys(self, request: Request, customer: Row) -> Response:
        return await self._keys_page(request, customer)

    @customer_page
    async def create_key(self, request: Request, customer: Row) -> Response:
        form = await request.form()
        label = str(form.get("label") or "").strip()[:100] or None
        issued = api_keys.issue(self.services.settings.api_key_environment)
        row = {
            "id": new_id("key"),
            "customer_id": customer["id"],
            "prefix": issued.prefix,
            "key_hash": issued.key_hash,
            "label": label,
            "created_at": self.services.clock.now(),
            "last_used_at": None,
            "revoked_at": None,
        }
        async with self.services.engine.begin() as connection:
            await provisioning_store.insert_api_key(connection, row)
        new_key = {**public_key(row), "api_key": issued.plaintext}
        return await self._keys_page(request, customer, new_key)

    @customer_page
    async def revoke_key(self, request: Request, customer: Row) -> Response:
        async with self.services.engine.begin() as connection:
            row = await provisioning_store.revoke_key(
                connection,
                customer["id"],
                request.path_params["key_id"],
                self.services.clock.now(),
            )
        if row is None:
            flash(request, "No such API key.", "error")
        else:
            flash(request, f"The key {row['prefix']}… is revoked.")
        return RedirectResponse("/dashboard/keys", 303)

    # -- billing ---------------------------------------------------------------------------

    @customer_page
    async def billing(self, request: Request, customer: Row) -> Response:
        billing = self.services.billing
        context = {
            "customer": customer,
            "summary": await self.summary(customer["id"]),
            "cards": await billing.payment_methods.list(customer["id"]),
            "invoices": await billing.account.invoices(customer["id"]),
            "test_cards": TEST_CARDS,
            "pro": PLANS["pro"],
        }
        return self.render(request, "dashboard/billing.html", context)

    async def _billing_action(self, request: Request, call: Any, done: str) -> Response:
        try:
            await call
        except BILLING_ERRORS as error:
            problem = as_problem(error)
            flash(request, problem.detail or problem.title, "error")
        else:
            flash(request, done)
        return RedirectResponse("/dashboard/billing", 303)

    @customer_page
    async def add_card(self, request: Request, customer: Row) -> Response:
        form = await request.form()
        token = str(form.get("payment_method") or "").strip()
        if not 3 <= len(token) <= 255:
            flash(request, "Enter a payment method.", "error")
            return RedirectResponse("/dashboard/billing", 303)
        call = self.services.billing.payment_methods.add(customer["id"], token)
        return await self._billing_action(request, call, "The card is added.")

    @customer_page
    async def remove_card(self, request: Request, customer: Row) -> Response:
        call = self.services.billing.payment_methods.remove(
            customer["id"], request.path_params["pm_id"]
        )
        return await self._billing_action(request, call, "The card is removed.")

    @customer_page
    async def subscribe(self, request: Request, customer: Row) -> Response:
        call = self.services.billing.subscriptions.subscribe(customer["id"], "pro")
        return await self._billing_action(request, call, "You are subscribed to Pro.")

    @customer_page
    async def cancel(self, request: Request, customer: Row) -> Response:
        call = self.services.billing.subscriptions.cancel(customer["id"], at_period_end=True)
        return await self._billing_action(
            request, call, "Your subscription ends at the end of this period."
        )

    @customer_page
    async def invoice(self, request: Request, customer: Row) -> Response:
        invoice_id = request.path_params["invoice_id"]
        invoices = await self.services.billing.account.invoices(customer["id"])
        invoice = next((i for i in invoices if i["id"] == invoice_id), None)
        if invoice is None:
            context = {"title": "Not found", "message": "No such invoice."}
            return self.render(request, "dashboard/error.html", context, 404)
        lines: list[dict[str, Any]] | None = None
        try:
            remote = await self.services.stripe.retrieve_invoice(invoice_id)
            lines = [
                {
                    "description": line.get("description") or "",
                    "quantity": line.get("quantity") or 1,
                    "amount": int(line.get("amount") or 0),
                }
                for line in (remote.get("lines") or {}).get("data") or []
            ]
        except StripeUnavailable:
            lines = None
        page = {"customer": customer, "invoice": invoice, "lines": lines}
        return self.render(request, "dashboard/invoice.html", page)

    # -- workflow generator ----------------------------------------------------------------

    @customer_page
    async def workflow_form(self, request: Request, customer: Row) -> Response:
        owner = customer["github_org"] or "your-org"
        values = {
            "repository": f"{owner}/your-repo",
            "schedule": "weekly",
            "modes": list(workflow.MODES),
            "max_fixes": 3,
        }
        return self._workflow_page(request, customer, values)

    def _workflow_page(
        self,
        request: Request,
        customer: Row,
        values: dict[str, Any],
        yaml: str | None = None,
        error: workflow.InvalidChoice | None = None,
    ) -> Response:
        context = {
            "customer": customer,
            "values": values,
            "yaml": yaml,
            "error": error,
            "modes": workflow.MODES,
            "schedules": workflow.SCHEDULES,
            "secret_name": workflow.SECRET_NAME,
            "file_path": workflow.PATH,
        }
        return self.render(request, "dashboard/workflow.html", context, 422 if error else 200)

    @customer_page
    async def workflow(self, request: Request, customer: Row) -> Response:
        form = await request.form()
        schedule = str(form.get("schedule") or "weekly")
        if schedule == "custom":
            schedule = str(form.get("cron") or "").strip()
        max_raw = str(form.get("max_fixes") or "3")
        repository = str(form.get("repository") or "").strip()
        modes = [str(m) for m in form.getlist("modes")]
        on_push = bool(form.get("on_push"))
        values = {
            "repository": repository,
            "schedule": str(form.get("schedule") or "weekly"),
            "cron": str(form.get("cron") or ""),
            "modes": modes,
            "max_fixes": max_raw,
            "on_push": on_push,
        }
        try:
            choices = workflow.WorkflowChoices(
                repository=repository,
                schedule=schedule,
                modes=tuple(modes),
                max_fixes=int(max_raw) if max_raw.isdigit() else 0,
                on_push=on_push,
            )
            text = workflow.render(choices)
        except workflow.InvalidChoice as error:
            return self._workflow_page(request, customer, values, error=error)
        return self._workflow_page(request, customer, values, yaml=text)

    # -- live updates ----------------------------------------------------------------------

    @staticmethod
    def _event(summary: dict[str, Any], what: str) -> str:
        data = {
            "what": what,
            "credit_balance": summary["credit_balance"],
            "plan": summary["plan"],
            "plan_name": summary["plan_name"],
            "fixes_this_period": summary["fixes_this_period"],
            "next_invoice": summary["next_invoice_text"],
            "subscription": (summary["subscription"] or {}).get("status") or "none",
        }
        return f"event: update\ndata: {json.dumps(data)}\n\n"

    async def events(self, request: Request) -> Response:
        """Server-sent events: an `update` now and after every change for this customer."""
        customer = await self.signed_in(request)
        if customer is None:
            return Response("Sign in first.", 401, media_type="text/plain")
        customer_id = customer["id"]

        async def stream() -> AsyncIterator[str]:
            loop = asyncio.get_running_loop()
            with self.services.changes.subscribe(customer_id) as queue:
                yield "retry: 2000\n\n"
                yield self._event(await self.summary(customer_id), "hello")
                deadline = loop.time() + self.stream_seconds
                while (remaining := deadline - loop.time()) > 0:
                    try:
                        what = await asyncio.wait_for(
                            queue.get(), min(self.heartbeat_seconds, remaining)
                        )
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield self._event(await self.summary(customer_id), what)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
