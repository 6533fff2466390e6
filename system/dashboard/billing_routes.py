"""The dashboard's billing page and its forms: cards, the Pro subscription, invoices."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from system.billing.catalogue import PLANS
from system.billing.errors import BILLING_ERRORS, as_problem
from system.dashboard.pages import Pages, Row, customer_page, flash
from system.dashboard.summary import dashboard_summary
from system.stripe_gateway import StripeUnavailable

# Stripe's test tokens, offered on the billing page of a test-mode system.
TEST_CARDS = ("pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_chargeDeclined")


class BillingPages(Pages):
    def routes(self) -> list[Route]:
        return [
            Route("/dashboard/billing", self.billing, methods=["GET"]),
            Route("/dashboard/billing/cards", self.add_card, methods=["POST"]),
            Route("/dashboard/billing/cards/{pm_id}/remove", self.remove_card, methods=["POST"]),
            Route("/dashboard/billing/subscribe", self.subscribe, methods=["POST"]),
            Route("/dashboard/billing/cancel", self.cancel, methods=["POST"]),
            Route("/dashboard/billing/invoices/{invoice_id}", self.invoice, methods=["GET"]),
        ]

    @customer_page
    async def billing(self, request: Request, customer: Row) -> Response:
        billing = self.services.billing
        context = {
            "customer": customer,
            "summary": await dashboard_summary(self.services, customer["id"]),
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
