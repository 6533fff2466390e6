"""Resource modules. Each exports ``ROUTES`` and may export ``INDEXES`` and ``EXPANDABLE``.

To add a resource, write ``resources/<name>.py`` following ``customers.py``
and append the module to :data:`MODULES`.
"""

from __future__ import annotations

from types import ModuleType

from ..expand import register_prefix
from ..routing import Route
from ..store import register_indexes
from . import (
    charges,
    checkout_sessions,
    customers,
    events,
    invoice_items,
    invoices,
    mandates,
    payment_intents,
    payment_methods,
    payment_pages,
    prices,
    products,
    refunds,
    setup_intents,
    subscriptions,
    test_clocks,
    webhook_endpoints,
)

MODULES: list[ModuleType] = [customers, products, prices, events]
MODULES += [payment_methods, charges, payment_intents]
MODULES.append(webhook_endpoints)
MODULES += [setup_intents, refunds]
MODULES.extend([test_clocks, invoices, invoice_items, subscriptions, checkout_sessions])
MODULES += [payment_pages, mandates]


def register(mod: ModuleType) -> None:
    """Register a module's secondary indexes and expandable id prefixes."""
    for coll, fields in getattr(mod, "INDEXES", {}).items():
        register_indexes(coll, fields)
    for prefix, coll in getattr(mod, "EXPANDABLE", {}).items():
        register_prefix(prefix, coll)


def all_routes(modules: list[ModuleType] | None = None) -> list[Route]:
    """Collect the routes of the given modules (default: all), registering them too."""
    routes: list[Route] = []
    for mod in modules or MODULES:
        register(mod)
        routes.extend(mod.ROUTES)
    return routes


# Indexes must be known before any collection exists (e.g. when loading from SQLite).
for _mod in MODULES:
    register(_mod)
