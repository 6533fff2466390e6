"""The reconciliation: for every customer, the system's books, Stripe's and the billing
model's agree.

Three sources: what the system reports over its public API (ledger, balance, plan,
subscription, invoices), what the emulator holds (charges, invoices, subscriptions, read
with the Stripe SDK), and what the independent billing model (`expected.py`) says the
customer's journey should have cost. Every disagreement is listed against its customer.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from simulator.staging.http import CustomerClient
from simulator.staging.results import Lived, RunResult
from system.billing.stripe_objects import LIVE_STATUSES


def group_remote(remote: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The emulator's objects by our customer id (from the Stripe customer's metadata)."""
    ours: dict[str, str] = {}
    for customer in remote.get("customers", []):
        rsolv = (customer.get("metadata") or {}).get("rsolv_customer_id")
        if rsolv:
            ours[customer["id"]] = rsolv
    grouped: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"charges": [], "invoices": [], "subscriptions": []}
    )
    for kind in ("charges", "invoices", "subscriptions"):
        for obj in remote.get(kind, []):
            owner = obj.get("customer")
            stripe_id = str(owner.get("id")) if isinstance(owner, dict) else str(owner)
            if stripe_id in ours:
                grouped[ours[stripe_id]][kind].append(obj)
    return grouped


def charged_cents(charges: list[dict[str, Any]]) -> int:
    return sum(
        int(c["amount"]) - int(c.get("amount_refunded") or 0)
        for c in charges
        if c.get("status") == "succeeded"
    )


async def _system_books(http: CustomerClient, who: Lived, invoices: bool) -> dict[str, Any]:
    key = who.api_key
    credits = await http.request("GET", "/api/v1/billing/credits?limit=100", api_key=key)
    summary = await http.request("GET", "/api/v1/billing/subscription", api_key=key)
    books: dict[str, Any] = {"credits": credits.json(), "summary": summary.json()}
    if invoices:
        answer = await http.request("GET", "/api/v1/billing/invoices", api_key=key)
        books["invoices"] = answer.json()["data"]
    return books


def compare(who: Lived, books: dict[str, Any], remote: dict[str, Any]) -> list[str]:
    """Disagreements for one customer (empty when all three agree)."""
    out: list[str] = []
    model = who.expected
    credits, summary = books["credits"], books["summary"]
    balance = credits["balance"]
    entries = credits["entries"]
    if not credits["has_more"] and sum(e["amount"] for e in entries) != balance:
        out.append(f"ledger entries sum to {sum(e['amount'] for e in entries)}, balance {balance}")
    if entries and entries[0]["balance_after"] != balance:
        out.append(f"latest ledger balance_after {entries[0]['balance_after']} != {balance}")
    if summary["credit_balance"] != balance:
        out.append(f"credit_balance {summary['credit_balance']} != ledger balance {balance}")
    if balance != model.balance:
        out.append(f"credit balance {balance}, the billing model says {model.balance}")
    if summary["plan"] != model.plan:
        out.append(f"plan {summary['plan']!r}, the billing model says {model.plan!r}")
    charged = charged_cents(remote["charges"])
    if charged != model.charged_cents:
        out.append(f"Stripe charged {charged} cents, the billing model says {model.charged_cents}")
    local_sub = summary.get("subscription")
    remote_subs = sorted(remote["subscriptions"], key=lambda s: s["created"])
    if remote_subs:
        latest = remote_subs[-1]
        if local_sub is None and latest["status"] in LIVE_STATUSES:
            out.append(f"subscription {latest['id']} is {latest['status']} at Stripe, not here")
        elif local_sub is None:
            pass  # the system shows only subscriptions that have not ended
        elif local_sub["id"] != latest["id"]:
            out.append(f"subscription {latest['id']} at Stripe, system shows {local_sub['id']}")
        elif local_sub["status"] != latest["status"]:
            out.append(
                f"subscription {latest['id']}: system {local_sub['status']!r}, "
                f"Stripe {latest['status']!r}"
            )
    elif local_sub is not None:
        out.append(f"system shows subscription {local_sub['id']}, Stripe has none")
    expected_status = model.subscription_status
    stripe_status = remote_subs[-1]["status"] if remote_subs else None
    if expected_status != stripe_status:
        out.append(f"subscription {stripe_status!r} at Stripe, the model says {expected_status!r}")
    if "invoices" in books:
        local = {i["id"]: i for i in books["invoices"]}
        for invoice in remote["invoices"]:
            if invoice["status"] == "draft":
                continue
            mine = local.get(invoice["id"])
            if mine is None:
                out.append(f"invoice {invoice['id']} ({invoice['status']}) missing in the system")
            elif (mine["status"], mine["amount_paid"]) != (
                invoice["status"],
                invoice["amount_paid"],
            ):
                out.append(
                    f"invoice {invoice['id']}: system {mine['status']}/{mine['amount_paid']}, "
                    f"Stripe {invoice['status']}/{invoice['amount_paid']}"
                )
        paid = sorted(i["amount_paid"] for i in remote["invoices"] if i["status"] == "paid")
        if paid != sorted(model.invoice_payments):
            out.append(f"paid invoices {paid} at Stripe, the model says {model.invoice_payments}")
    return out


async def reconcile(result: RunResult, http: CustomerClient) -> None:
    """Fill each customer's `disagreements` with what the final books disagree on, reading
    the system's books through `http` (an open client to the system)."""
    grouped = group_remote(result.remote)
    end = int(result.end.timestamp())
    empty: dict[str, Any] = {"charges": [], "invoices": [], "subscriptions": []}

    async def one(who: Lived) -> None:
        if who.api_key is None:
            return
        who.expected.finish(end)
        remote = grouped.get(who.customer_id or "", empty)
        wants_invoices = bool(remote["invoices"] or who.expected.subs)
        books = await _system_books(http, who, wants_invoices)
        for problem in compare(who, books, remote):
            who.disagreements.append(f"final: {problem}")

    await asyncio.gather(*(one(w) for w in result.lived))
