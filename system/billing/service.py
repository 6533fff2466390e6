"""Billing's use cases, assembled from one context: one object per family, each in its
own module (usage, payment methods, subscriptions, Stripe sync and events, settlement,
grants, the account view)."""

from __future__ import annotations

from dataclasses import dataclass

from system.billing.account import Account
from system.billing.context import BillingContext
from system.billing.grants import CreditGrants
from system.billing.payment_methods import PaymentMethods
from system.billing.settlement import Settlement
from system.billing.stripe_events import StripeEvents
from system.billing.stripe_sync import StripeSync
from system.billing.subscriptions import Subscriptions
from system.billing.usage import Usage


@dataclass(frozen=True)
class Billing:
    context: BillingContext
    usage: Usage
    payment_methods: PaymentMethods
    subscriptions: Subscriptions
    stripe_sync: StripeSync
    stripe_events: StripeEvents
    settlement: Settlement
    account: Account

    @classmethod
    def build(cls, context: BillingContext) -> Billing:
        grants = CreditGrants(context)
        sync = StripeSync(context, grants)
        account = Account(context, grants)
        usage = Usage(context, grants)
        subscriptions = Subscriptions(context, sync, account)
        settlement = Settlement(context, usage, subscriptions)
        return cls(
            context=context,
            usage=usage,
            payment_methods=PaymentMethods(context, sync),
            subscriptions=subscriptions,
            stripe_sync=sync,
            stripe_events=StripeEvents(context.stripe, sync, settlement),
            settlement=settlement,
            account=account,
        )
