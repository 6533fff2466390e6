"""Billing's use cases, assembled from one context: one object per family, each in its
own module (usage, payment methods, subscriptions, Stripe sync, grants, the account view)."""

from __future__ import annotations

from dataclasses import dataclass

from system.billing.account import Account
from system.billing.context import BillingContext
from system.billing.grants import CreditGrants
from system.billing.payment_methods import PaymentMethods
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
    account: Account

    @classmethod
    def build(cls, context: BillingContext) -> Billing:
        grants = CreditGrants(context)
        sync = StripeSync(context, grants)
        account = Account(context, grants)
        return cls(
            context=context,
            usage=Usage(context, grants),
            payment_methods=PaymentMethods(context, sync),
            subscriptions=Subscriptions(context, sync, account),
            stripe_sync=sync,
            account=account,
        )
