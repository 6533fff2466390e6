"""Billing: plans and prices, charging for fixes, payment methods, subscriptions, and
applying Stripe's state (pure rules apart from their storage; credits live in
`system.credits`)."""
