"""The admin's endpoints under /admin, for staff signed in with ADMIN_USERNAME and
ADMIN_PASSWORD (closed while no password is set). Every change is written to the audit log."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from system.admin import store
from system.billing import store as billing_store
from system.credits import store as credits_store
from system.credits.ledger import Entry, InsufficientCredit
from system.dashboard.pages import Pages, csrf_ok, flash
from system.provisioning import store as provisioning_store

PAGE = 50
LEDGER_PAGE = 50
MAX_ADJUSTMENT = 100_000


class AdminEndpoints(Pages):
    def routes(self) -> list[Route]:
        return [
            Route("/admin/login", self.login_form, methods=["GET"]),
            Route("/admin/login", self.login, methods=["POST"]),
            Route("/admin/logout", self.logout, methods=["POST"]),
            Route("/admin", self.customers, methods=["GET"]),
            Route("/admin/customers/{customer_id}", self.customer, methods=["GET"]),
            Route("/admin/customers/{customer_id}/adjust", self.adjust, methods=["POST"]),
            Route("/admin/customers/{customer_id}/suspend", self.suspend, methods=["POST"]),
            Route("/admin/customers/{customer_id}/restore", self.restore, methods=["POST"]),
        ]

    def _closed(self) -> bool:
        return not self.services.settings.admin_password

    def _not_found(self, request: Request) -> Response:
        context = {"title": "Not found", "message": "There is nothing here."}
        return self.render(request, "admin/error.html", context, 404)

    async def _staff(self, request: Request) -> tuple[str | None, Response | None]:
        """(the signed-in staff member, None) or (None, the response to send instead)."""
        if self._closed():
            return None, self._not_found(request)
        actor = request.session.get("admin")
        if not actor:
            return None, RedirectResponse("/admin/login", 303)
        if request.method == "POST" and not await csrf_ok(request):
            return None, self.forbidden(request)
        return str(actor), None

    async def login_form(self, request: Request) -> Response:
        if self._closed():
            return self._not_found(request)
        return self.render(request, "admin/login.html")

    async def login(self, request: Request) -> Response:
        if self._closed():
            return self._not_found(request)
        if not await csrf_ok(request):
            return self.forbidden(request)
        form = await request.form()
        settings = self.services.settings
        username = str(form.get("username") or "")
        password = str(form.get("password") or "")
        assert settings.admin_password
        good = hmac.compare_digest(username.encode(), settings.admin_username.encode())
        good &= hmac.compare_digest(password.encode(), settings.admin_password.encode())
        if not good:
            context = {"error": "Wrong username or password."}
            return self.render(request, "admin/login.html", context, 401)
        request.session["admin"] = settings.admin_username
        return RedirectResponse("/admin", 303)

    async def logout(self, request: Request) -> Response:
        _, refused = await self._staff(request)
        if refused:
            return refused
        request.session.pop("admin", None)
        return RedirectResponse("/admin/login", 303)

    async def customers(self, request: Request) -> Response:
        actor, refused = await self._staff(request)
        if refused:
            return refused
        query = request.query_params.get("q", "").strip()[:200]
        page_raw = request.query_params.get("page", "1")
        page = max(1, int(page_raw)) if page_raw.isdigit() else 1
        async with self.services.engine.connect() as connection:
            rows, total = await store.search_customers(
                connection, query, limit=PAGE, offset=(page - 1) * PAGE
            )
        context = {
            "actor": actor,
            "q": query,
            "customers": rows,
            "total": total,
            "page": page,
            "has_more": page * PAGE < total,
        }
        return self.render(request, "admin/customers.html", context)

    async def _customer_page(
        self,
        request: Request,
        actor: str,
        customer: dict[str, Any],
        status: int = 200,
        **extra: Any,
    ) -> Response:
        before_raw = request.query_params.get("before", "")
        before = int(before_raw) if before_raw.isdigit() else None
        async with self.services.engine.connect() as connection:
            entries = await credits_store.entries(
                connection, customer["id"], limit=LEDGER_PAGE + 1, before_id=before
            )
            audit = await store.audit_log(connection, customer["id"])
        context = {
            "actor": actor,
            "customer": customer,
            "entries": entries[:LEDGER_PAGE],
            "next_before": entries[LEDGER_PAGE - 1]["id"] if len(entries) > LEDGER_PAGE else None,
            "audit": audit,
            **extra,
        }
        return self.render(request, "admin/customer.html", context, status)

    async def _staff_on_customer(
        self, request: Request
    ) -> tuple[str | None, dict[str, Any] | None, Response | None]:
        """`_staff`, then the customer the path names: (actor, customer, None), or the
        response to send instead in the last place."""
        actor, refused = await self._staff(request)
        if refused:
            return None, None, refused
        async with self.services.engine.connect() as connection:
            customer = await provisioning_store.get_customer(
                connection, request.path_params["customer_id"]
            )
        if customer is None:
            return actor, None, self._not_found(request)
        return actor, customer, None

    async def customer(self, request: Request) -> Response:
        actor, customer, refused = await self._staff_on_customer(request)
        if refused:
            return refused
        assert actor and customer
        return await self._customer_page(request, actor, customer)

    async def adjust(self, request: Request) -> Response:
        actor, customer, refused = await self._staff_on_customer(request)
        if refused:
            return refused
        assert actor and customer
        form = await request.form()
        reason = str(form.get("reason") or "").strip()
        raw = str(form.get("amount") or "").strip()
        try:
            amount = int(raw)
        except ValueError:
            amount = 0
        error = None
        if not reason:
            error = "A reason is required."
        elif amount == 0 or abs(amount) > MAX_ADJUSTMENT:
            error = (
                f"The amount must be a whole number of credits, not 0, at most {MAX_ADJUSTMENT}."
            )
        if error:
            values = {"amount": raw, "reason": reason}
            return await self._customer_page(
                request, actor, customer, 422, error=error, values=values
            )
        now = self.services.clock.now()
        try:
            async with self.services.engine.begin() as connection:
                await billing_store.lock_customer(connection, customer["id"])
                audit_id = await store.audit(
                    connection,
                    actor=actor,
                    action="credit_adjustment",
                    customer_id=customer["id"],
                    amount=amount,
                    reason=reason,
                    now=now,
                )
                entry = Entry(amount, "admin_adjustment", f"admin:{audit_id}")
                balance = await credits_store.post(connection, customer["id"], entry, now)
        except InsufficientCredit as short:
            message = f"The balance is {short.balance}: it cannot go below zero."
            values = {"amount": raw, "reason": reason}
            return await self._customer_page(
                request, actor, customer, 422, error=message, values=values
            )
        await self.services.changes.publish(customer["id"], "adjustment")
        flash(request, f"Adjusted by {amount:+d} credits; the balance is {balance}.")
        return RedirectResponse(f"/admin/customers/{customer['id']}", 303)

    async def _set_status(self, request: Request, status: str, action: str) -> Response:
        actor, customer, refused = await self._staff_on_customer(request)
        if refused:
            return refused
        assert actor and customer
        form = await request.form()
        reason = str(form.get("reason") or "").strip()
        if not reason:
            return await self._customer_page(
                request, actor, customer, 422, error="A reason is required."
            )
        async with self.services.engine.begin() as connection:
            await billing_store.set_customer(connection, customer["id"], status=status)
            await store.audit(
                connection,
                actor=actor,
                action=action,
                customer_id=customer["id"],
                reason=reason,
                now=self.services.clock.now(),
            )
        await self.services.changes.publish(customer["id"], action)
        flash(request, f"The customer is {status}.")
        return RedirectResponse(f"/admin/customers/{customer['id']}", 303)

    async def suspend(self, request: Request) -> Response:
        return await self._set_status(request, "suspended", "suspend")

    async def restore(self, request: Request) -> Response:
        return await self._set_status(request, "active", "restore")
