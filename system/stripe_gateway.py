"""The system's one door to Stripe: the official SDK, pointed at `STRIPE_API_BASE`.

Every call is async, returns plain dicts, and turns Stripe's failures into three errors:
`StripeUnavailable` (retry later), `CardDeclined` (the customer must act) and
`StripeRejected` (our request was wrong or refers to something that does not exist).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import stripe

T = TypeVar("T")


class StripeUnavailable(Exception):
    """Stripe could not be reached or failed on its side; the call may be retried."""


class StripeRejected(Exception):
    """Stripe refused the request (invalid parameters, unknown object)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


class CardDeclined(Exception):
    """The card was declined; `decline_code` says why, in Stripe's words."""

    def __init__(self, message: str, code: str | None, decline_code: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code


@dataclass(frozen=True)
class StripeCustomerRequest:
    email: str
    name: str
    customer_id: str
    company: str | None = None
    github_org: str | None = None


def _plain(obj: Any) -> dict[str, Any]:
    result: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return result


class StripeGateway:
    """Async calls to Stripe through a `stripe.StripeClient` built from settings."""

    def __init__(
        self,
        api_key: str,
        api_base: str,
        *,
        timeout_seconds: float = 5.0,
        max_network_retries: int = 1,
        test_clock: str | None = None,
    ) -> None:
        self.api_base = api_base
        self.test_clock = test_clock
        self._api_key = api_key
        self._timeout = timeout_seconds
        self._retries = max_network_retries
        self._bound: tuple[asyncio.AbstractEventLoop, stripe.StripeClient, Any] | None = None
        self._price_ids: dict[str, str] = {}

    @property
    def _client(self) -> stripe.StripeClient:
        """The SDK client for the running event loop. Its HTTP session (aiohttp: twice the
        requests per second of the SDK's httpx client here) belongs to one loop, so a
        gateway used from another loop (a CLI run, a test) gets a session of its own."""
        loop = asyncio.get_running_loop()
        if self._bound is None or self._bound[0] is not loop:
            http = stripe.AIOHTTPClient(timeout=aiohttp.ClientTimeout(total=self._timeout))
            client = stripe.StripeClient(
                self._api_key,
                base_addresses={"api": self.api_base},
                http_client=http,
                max_network_retries=self._retries,
            )
            self._bound = (loop, client, http)
        return self._bound[1]

    async def close(self) -> None:
        """Close the HTTP session of the running loop, if it has one."""
        bound, self._bound = self._bound, None
        if bound is not None and bound[0] is asyncio.get_running_loop():
            await bound[2].close_async()

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except stripe.CardError as error:
            raise CardDeclined(
                error.user_message or str(error.user_message or error),
                error.code,
                getattr(error.error, "decline_code", None) if error.error else None,
            ) from error
        except (stripe.InvalidRequestError, stripe.IdempotencyError) as error:
            raise StripeRejected(
                error.user_message or str(error), getattr(error, "param", None), error.code
            ) from error
        except stripe.StripeError as error:
            raise StripeUnavailable(str(error)) from error

    # -- customers -------------------------------------------------------------------------

    async def create_customer(self, request: StripeCustomerRequest) -> str:
        """Create the Stripe customer for one of ours; the idempotency key is derived from
        our customer id, so a retry after a lost answer never makes a second one."""
        metadata = {"rsolv_customer_id": request.customer_id}
        if request.company:
            metadata["company"] = request.company
        if request.github_org:
            metadata["github_org"] = request.github_org
        params: dict[str, Any] = {
            "email": request.email,
            "name": request.name,
            "metadata": metadata,
        }
        if self.test_clock:
            params["test_clock"] = self.test_clock
        try:
            customer = await self._call(
                lambda: self._client.v1.customers.create_async(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": f"rsolv-customer-{request.customer_id}"},
                )
            )
        except StripeRejected as error:
            raise StripeUnavailable(str(error)) from error
        return str(customer.id)

    # -- payment methods -------------------------------------------------------------------

    async def attach_default_payment_method(
        self, stripe_customer: str, payment_method: str
    ) -> dict[str, Any]:
        """Attach the card to the customer and make it the default for invoices."""
        attached = await self._call(
            lambda: self._client.v1.payment_methods.attach_async(
                payment_method, params={"customer": stripe_customer}
            )
        )
        await self._call(
            lambda: self._client.v1.customers.update_async(
                stripe_customer,
                params={"invoice_settings": {"default_payment_method": attached.id}},
            )
        )
        return _plain(attached)

    async def detach_payment_method(self, payment_method: str) -> dict[str, Any]:
        return _plain(
            await self._call(lambda: self._client.v1.payment_methods.detach_async(payment_method))
        )

    async def set_default_payment_method(
        self, stripe_customer: str, payment_method: str | None
    ) -> None:
        await self._call(
            lambda: self._client.v1.customers.update_async(
                stripe_customer,
                params={"invoice_settings": {"default_payment_method": payment_method or ""}},
            )
        )

    # -- one-off charges -------------------------------------------------------------------

    async def charge(
        self,
        *,
        stripe_customer: str,
        payment_method: str,
        amount_cents: int,
        currency: str,
        description: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        """An off-session PaymentIntent, confirmed at once; CardDeclined on a decline."""
        intent = await self._call(
            lambda: self._client.v1.payment_intents.create_async(
                params={
                    "amount": amount_cents,
                    "currency": currency,
                    "customer": stripe_customer,
                    "payment_method": payment_method,
                    "off_session": True,
                    "confirm": True,
                    "description": description,
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key},
            )
        )
        return _plain(intent)

    async def payment_intents_of(self, stripe_customer: str) -> list[dict[str, Any]]:
        """The customer's PaymentIntents (the newest 100)."""
        found = await self._call(
            lambda: self._client.v1.payment_intents.list_async(
                params={"customer": stripe_customer, "limit": 100}
            )
        )
        return [_plain(intent) for intent in found.data]

    async def retrieve_payment_intent(self, intent_id: str) -> dict[str, Any]:
        return _plain(
            await self._call(lambda: self._client.v1.payment_intents.retrieve_async(intent_id))
        )

    async def retrieve_charge(self, charge_id: str) -> dict[str, Any]:
        return _plain(await self._call(lambda: self._client.v1.charges.retrieve_async(charge_id)))

    # -- catalogue and subscriptions -------------------------------------------------------

    async def price_for(
        self, lookup_key: str, *, name: str, unit_amount: int, currency: str
    ) -> str:
        """The recurring monthly price with this lookup key, created once if Stripe lacks it."""
        if lookup_key in self._price_ids:
            return self._price_ids[lookup_key]
        found = await self._call(
            lambda: self._client.v1.prices.list_async(params={"lookup_keys": [lookup_key]})
        )
        if found.data:
            price_id = str(found.data[0].id)
        else:
            price = await self._call(
                lambda: self._client.v1.prices.create_async(
                    params={
                        "unit_amount": unit_amount,
                        "currency": currency,
                        "recurring": {"interval": "month"},
                        "lookup_key": lookup_key,
                        "product_data": {"name": name},
                    },
                    options={"idempotency_key": f"rsolv-price-{lookup_key}"},
                )
            )
            price_id = str(price.id)
        self._price_ids[lookup_key] = price_id
        return price_id

    async def create_subscription(
        self,
        *,
        stripe_customer: str,
        price: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        """Charged at once to the customer's default card; CardDeclined on a decline."""
        subscription = await self._call(
            lambda: self._client.v1.subscriptions.create_async(
                params={
                    "customer": stripe_customer,
                    "items": [{"price": price}],
                    "payment_behavior": "error_if_incomplete",
                    "expand": ["latest_invoice"],
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key},
            )
        )
        return _plain(subscription)

    async def subscriptions_of(self, stripe_customer: str) -> list[dict[str, Any]]:
        """Every subscription of the customer, in any status (the newest 100)."""
        found = await self._call(
            lambda: self._client.v1.subscriptions.list_async(
                params={"customer": stripe_customer, "status": "all", "limit": 100}
            )
        )
        return [_plain(subscription) for subscription in found.data]

    async def open_invoices(self, stripe_customer: str) -> list[dict[str, Any]]:
        found = await self._call(
            lambda: self._client.v1.invoices.list_async(
                params={"customer": stripe_customer, "status": "open", "limit": 100}
            )
        )
        return [_plain(invoice) for invoice in found.data]

    async def pay_invoice(self, invoice_id: str) -> dict[str, Any]:
        """Attempt an open invoice now with the customer's default payment method."""
        return _plain(await self._call(lambda: self._client.v1.invoices.pay_async(invoice_id)))

    async def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool
    ) -> dict[str, Any]:
        if at_period_end:
            return _plain(
                await self._call(
                    lambda: self._client.v1.subscriptions.update_async(
                        subscription_id, params={"cancel_at_period_end": True}
                    )
                )
            )
        return _plain(
            await self._call(
                lambda: self._client.v1.subscriptions.cancel_async(
                    subscription_id, params={"prorate": False}
                )
            )
        )

    async def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        return _plain(
            await self._call(lambda: self._client.v1.subscriptions.retrieve_async(subscription_id))
        )

    async def retrieve_invoice(self, invoice_id: str) -> dict[str, Any]:
        return _plain(await self._call(lambda: self._client.v1.invoices.retrieve_async(invoice_id)))

    # -- webhooks --------------------------------------------------------------------------

    async def _delete_webhook_endpoint(self, endpoint_id: str) -> None:
        await self._call(lambda: self._client.v1.webhook_endpoints.delete_async(endpoint_id))

    async def register_webhook_endpoint(self, url: str, events: list[str]) -> str:
        """Create an endpoint for `url` (removing older ones for it); its signing secret."""
        existing = await self._call(
            lambda: self._client.v1.webhook_endpoints.list_async(params={"limit": 100})
        )
        for endpoint in existing.data:
            if endpoint.url == url:
                await self._delete_webhook_endpoint(str(endpoint.id))
        created = await self._call(
            lambda: self._client.v1.webhook_endpoints.create_async(
                params={"url": url, "enabled_events": events}  # type: ignore[typeddict-item]
            )
        )
        return str(created.secret)
