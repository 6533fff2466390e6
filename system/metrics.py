"""Prometheus metrics of the system, on a registry of the app's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

PROVISIONING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.provisioning_seconds = Histogram(
            "rsolv_provisioning_seconds",
            "Time from signup request to a working API key.",
            buckets=PROVISIONING_BUCKETS,
            registry=self.registry,
        )
        self.signups = Counter(
            "rsolv_signups", "Signup attempts by outcome.", ["outcome"], registry=self.registry
        )
        self.webhooks = Counter(
            "rsolv_stripe_webhooks",
            "Stripe webhooks by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.stripe_syncs = Counter(
            "rsolv_stripe_customer_syncs",
            "Attempts to create Stripe customers, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
