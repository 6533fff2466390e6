"""The system's one door to Stripe: the official SDK, pointed at `STRIPE_API_BASE`."""

from __future__ import annotations

from dataclasses import dataclass

import stripe


class StripeUnavailable(Exception):
    """Stripe could not be reached or failed on its side; the call may be retried."""


@dataclass(frozen=True)
class StripeCustomerRequest:
    email: str
    name: str
    customer_id: str
    company: str | None = None
    github_org: str | None = None


class StripeGateway:
    """Async calls to Stripe through a `stripe.StripeClient` built from settings."""

    def __init__(
        self,
        api_key: str,
        api_base: str,
        *,
        timeout_seconds: float = 5.0,
        max_network_retries: int = 1,
    ) -> None:
        self.api_base = api_base
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=stripe.HTTPXClient(timeout=timeout_seconds),
            max_network_retries=max_network_retries,
        )

    @property
    def client(self) -> stripe.StripeClient:
        return self._client

    async def create_customer(self, request: StripeCustomerRequest) -> str:
        """Create the Stripe customer for one of ours; the idempotency key is derived from
        our customer id, so a retry after a lost answer never makes a second one."""
        metadata = {"rsolv_customer_id": request.customer_id}
        if request.company:
            metadata["company"] = request.company
        if request.github_org:
            metadata["github_org"] = request.github_org
        try:
            customer = await self._client.v1.customers.create_async(
                params={"email": request.email, "name": request.name, "metadata": metadata},
                options={"idempotency_key": f"rsolv-customer-{request.customer_id}"},
            )
        except (stripe.APIConnectionError, stripe.RateLimitError) as error:
            raise StripeUnavailable(str(error)) from error
        except stripe.APIError as error:
            raise StripeUnavailable(str(error)) from error
        return str(customer.id)
