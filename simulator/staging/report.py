"""The report: figures and checks from a run, as a rich table, report.json and report.html.

`figures(...)` is pure: it reads the lived journeys, the week figures and the emulator's
objects, so unit tests check it against a small population computed by hand.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from simulator.staging.behaviour import CARD_LAST4, Card
from simulator.staging.results import Lived, RunResult, WeekFigures

LATENCY_TARGET_S = 5.0
CONVERSION_TARGET = 0.20
CHURN_TARGET = 0.05
WEEKS_PER_MONTH = 52 / 12


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _card_kind(charge: dict[str, Any]) -> Card | None:
    details = (charge.get("payment_method_details") or {}).get("card") or {}
    return CARD_LAST4.get(str(details.get("last4") or ""))


def month_of(week: int) -> int:
    """The 1-based month a 0-based week falls in."""
    return int(week / WEEKS_PER_MONTH) + 1


def figures(
    lived: list[Lived],
    weeks: list[WeekFigures],
    remote: dict[str, list[dict[str, Any]]],
    webhook_attempts: list[dict[str, Any]],
    months: int,
    faults: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Every figure of the report, and the checks against the launch targets (and, after
    fault drills, that they left nothing pending)."""
    latencies = [w.signup_latency for w in lived if w.signup_latency is not None]
    signed = [w for w in lived if w.api_key is not None]
    used_trial = [w for w in signed if w.used_trial]
    carded = [w for w in signed if w.paying_since is not None]
    pro = [w for w in signed if w.expected.subs]
    paid = [w for w in signed if w.expected.charged_cents > 0 or w.paying_since is not None]

    charges = remote.get("charges", [])
    valid_charges = [c for c in charges if _card_kind(c) is Card.VALID]
    valid_ok = sum(1 for c in valid_charges if c.get("status") == "succeeded")
    card_attempts = sum(w.valid_card_attempts for w in lived)
    card_ok = sum(w.valid_card_ok for w in lived)
    payment_attempts = len(valid_charges) + card_attempts
    payment_rate = (valid_ok + card_ok) / payment_attempts if payment_attempts else None

    churn: list[dict[str, Any]] = []
    for month in range(1, months + 1):
        active = [
            w
            for w in signed
            if w.paying_since is not None
            and month_of(w.paying_since) <= month
            and (w.churned_week is None or month_of(w.churned_week) >= month)
        ]
        lost = [
            w for w in active if w.churned_week is not None and month_of(w.churned_week) == month
        ]
        rate = len(lost) / len(active) if active else 0.0
        churn.append({"month": month, "paying": len(active), "churned": len(lost), "rate": rate})

    invoices = remote.get("invoices", [])
    refunds = sum(1 for c in charges if c.get("amount_refunded"))
    deliveries = [a for a in webhook_attempts if not a.get("duplicate")]
    disagreements = {
        w.customer_id or f"#{w.person.index} {w.person.email}": w.disagreements
        for w in lived
        if w.disagreements
    }
    figures_: dict[str, Any] = {
        "customers": len(lived),
        "provisioning_latency_ms": {
            "p50": percentile(latencies, 50) * 1000,
            "p95": percentile(latencies, 95) * 1000,
            "p99": percentile(latencies, 99) * 1000,
            "max": max(latencies, default=0.0) * 1000,
            "target": LATENCY_TARGET_S * 1000,
            "count": len(latencies),
        },
        "funnel": {
            "signups": len(lived),
            "accepted": len(signed),
            "trial_used": len(used_trial),
            "card_added": len(carded),
            "pro": len(pro),
            "paid": len(paid),
        },
        "conversion": len(paid) / len(signed) if signed else 0.0,
        "payment_success_valid_cards": payment_rate,
        "payments": {
            "valid_card_charges": len(valid_charges),
            "valid_card_charges_succeeded": valid_ok,
            "valid_card_attaches": card_attempts,
            "valid_card_attaches_succeeded": card_ok,
        },
        "churn": churn,
        "mrr_cents": weeks[-1].mrr_cents if weeks else 0,
        "weeks": [asdict(w) for w in weeks],
        "invoices": dict(Counter(i.get("status") for i in invoices)),
        "invoices_total": len(invoices),
        "charges": {
            "total": len(charges),
            "succeeded": sum(1 for c in charges if c.get("status") == "succeeded"),
            "failed": sum(1 for c in charges if c.get("status") == "failed"),
            "amount_cents": sum(
                int(c["amount"]) for c in charges if c.get("status") == "succeeded"
            ),
        },
        "refunds": refunds,
        "revenue_cents": sum(w.expected.charged_cents for w in lived),
        "webhooks": {
            "deliveries": len(deliveries),
            "succeeded": sum(1 for a in deliveries if a.get("ok")),
            "duplicates": sum(1 for a in webhook_attempts if a.get("duplicate")),
            "retries": sum(1 for a in deliveries if (a.get("attempt") or 1) > 1),
        },
        "disagreements": disagreements,
        "faults": faults or {},
    }
    figures_["checks"] = checks(figures_)
    return figures_


def checks(f: dict[str, Any]) -> dict[str, dict[str, Any]]:
    latency = f["provisioning_latency_ms"]
    rate = f["payment_success_valid_cards"]
    worst_churn = max((m["rate"] for m in f["churn"]), default=0.0)
    return {
        "provisioning p99 under 5 s": {
            "ok": latency["p99"] <= latency["target"],
            "value": f"{latency['p99']:.0f} ms (max {latency['max']:.0f} ms)",
        },
        "payment success, valid cards = 100%": {
            "ok": rate is None or rate >= 1.0,
            "value": "n/a" if rate is None else f"{rate:.1%}",
        },
        "trial -> paid conversion >= 20%": {
            "ok": f["conversion"] >= CONVERSION_TARGET,
            "value": f"{f['conversion']:.1%}",
        },
        "monthly churn under 5%": {
            "ok": worst_churn < CHURN_TARGET,
            "value": ", ".join(f"{m['rate']:.1%}" for m in f["churn"]),
        },
        "reconciliation: no disagreement": {
            "ok": not f["disagreements"],
            "value": f"{len(f['disagreements'])} customers disagree",
        },
        **(
            {
                "fault drills: every pending charge settled": {
                    "ok": f["faults"]["unsettled_after_run"] == 0,
                    "value": ", ".join(f"{name} {n}" for name, n in f["faults"].items()),
                }
            }
            if f.get("faults")
            else {}
        ),
    }


def passed(f: dict[str, Any]) -> bool:
    return all(c["ok"] for c in f["checks"].values())


# -- output ------------------------------------------------------------------------------------


def table(result: RunResult, f: dict[str, Any]) -> Any:
    from rich.table import Table

    cfg = result.config
    t = Table(
        title=f"Staging simulation: {cfg.customers} customers, {cfg.months} months, "
        f"seed {cfg.seed}, profile {cfg.profile.name}"
    )
    t.add_column("figure")
    t.add_column("value", justify="right")
    lat = f["provisioning_latency_ms"]
    rows = [
        (
            "provisioning latency p50 / p95 / p99 / max",
            f"{lat['p50']:.0f} / {lat['p95']:.0f} / {lat['p99']:.0f} / {lat['max']:.0f} ms",
        ),
        (
            "funnel signup > accepted > trial > card > paid (pro)",
            "{signups} > {accepted} > {trial_used} > {card_added} > {paid} ({pro})".format(
                **f["funnel"]
            ),
        ),
        ("trial -> paid conversion", f"{f['conversion']:.1%}"),
        (
            "payment success, valid cards",
            "n/a"
            if f["payment_success_valid_cards"] is None
            else f"{f['payment_success_valid_cards']:.1%}",
        ),
        ("monthly churn", ", ".join(f"{m['rate']:.1%}" for m in f["churn"])),
        ("MRR at the end", f"${f['mrr_cents'] / 100:,.2f}"),
        ("revenue (all charges)", f"${f['revenue_cents'] / 100:,.2f}"),
        ("invoices", ", ".join(f"{k} {v}" for k, v in sorted(f["invoices"].items())) or "0"),
        (
            "charges succeeded / failed, refunds",
            f"{f['charges']['succeeded']} / {f['charges']['failed']}, {f['refunds']}",
        ),
        (
            "webhook deliveries / duplicates / retries",
            f"{f['webhooks']['deliveries']} / {f['webhooks']['duplicates']} / "
            f"{f['webhooks']['retries']}",
        ),
        ("requests to the system", f"{result.requests}"),
        (
            "wall time",
            f"{result.wall_seconds:.1f} s "
            f"({len(result.lived) / max(result.wall_seconds, 1e-9):.1f} customers/s)",
        ),
    ]
    for name, value in rows:
        t.add_row(name, value)
    for name, check in f["checks"].items():
        mark = "[green]PASS[/green]" if check["ok"] else "[red]FAIL[/red]"
        t.add_row(f"{mark} {name}", str(check["value"]))
    return t


def write(result: RunResult, f: dict[str, Any], directory: Path) -> dict[str, Path]:
    """report.json, the plots and report.html in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    cfg = result.config
    document = {
        "run": {
            "customers": cfg.customers,
            "months": cfg.months,
            "weeks": cfg.weeks,
            "seed": cfg.seed,
            "profile": cfg.profile.name,
            "stack": result.stack_notes,
            "wall_seconds": result.wall_seconds,
            "customers_per_second": len(result.lived) / max(result.wall_seconds, 1e-9),
            "requests": result.requests,
        },
        "figures": f,
        "passed": passed(f),
    }
    paths = {"json": directory / "report.json"}
    paths["json"].write_text(json.dumps(document, indent=2, default=str))
    paths.update(plots(result, f, directory))
    paths["html"] = directory / "report.html"
    paths["html"].write_text(_html(document, paths))
    return paths


def plots(result: RunResult, f: dict[str, Any], directory: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, Path] = {}
    latencies = [w.signup_latency * 1000 for w in result.lived if w.signup_latency is not None]

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(latencies or [0], bins=40, color="#4472c4")
    ax.axvline(LATENCY_TARGET_S * 1000, color="red", linestyle="--", label="5 s target")
    ax.set(title="Provisioning latency", xlabel="ms", ylabel="signups")
    ax.legend()
    out["latency"] = _save(fig, directory / "latency.png")

    weeks = [w["week"] for w in f["weeks"]]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(weeks, [w["mrr_cents"] / 100 for w in f["weeks"]], marker="o", label="MRR ($)")
    ax.set(title="MRR and credits over time", xlabel="week", ylabel="MRR ($)")
    ax2 = ax.twinx()
    ax2.plot(
        weeks,
        [w["credits_outstanding"] for w in f["weeks"]],
        color="#ed7d31",
        marker=".",
        label="credits outstanding",
    )
    ax2.set_ylabel("credits")
    fig.legend(loc="upper left")
    out["mrr"] = _save(fig, directory / "mrr_credits.png")

    funnel = f["funnel"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = ["signup", "accepted", "trial", "card", "paid", "pro"]
    values = [funnel[k] for k in ("signups", "accepted", "trial_used", "card_added", "paid", "pro")]
    ax.bar(names, values, color="#70ad47")
    ax.set(title="Funnel: signup -> trial -> paid", ylabel="customers")
    out["funnel"] = _save(fig, directory / "funnel.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar([f"month {m['month']}" for m in f["churn"]], [m["rate"] * 100 for m in f["churn"]])
    ax.axhline(CHURN_TARGET * 100, color="red", linestyle="--", label="5% target")
    ax.set(title="Churn by month", ylabel="% of paying customers")
    ax.legend()
    out["churn"] = _save(fig, directory / "churn.png")
    return out


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _html(document: dict[str, Any], paths: dict[str, Path]) -> str:
    f = document["figures"]
    checks_rows = "".join(
        f"<tr><td>{'PASS' if c['ok'] else 'FAIL'}</td><td>{html.escape(name)}</td>"
        f"<td>{html.escape(str(c['value']))}</td></tr>"
        for name, c in f["checks"].items()
    )
    images = "".join(
        f'<figure><img src="{p.name}" alt="{key}"></figure>'
        for key, p in paths.items()
        if p.suffix == ".png"
    )
    problems = (
        "".join(
            f"<li><b>{html.escape(who)}</b><ul>"
            + "".join(f"<li>{html.escape(x)}</li>" for x in items)
            + "</ul></li>"
            for who, items in f["disagreements"].items()
        )
        or "<li>none: every customer reconciles</li>"
    )
    run = document["run"]
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Staging simulation report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}
td,th{{border:1px solid #ccc;padding:4px 8px}}table{{border-collapse:collapse}}
figure{{display:inline-block;margin:0.5em}}</style></head><body>
<h1>Staging simulation: {"PASSED" if document["passed"] else "FAILED"}</h1>
<p>{run["customers"]} customers, {run["months"]} months ({run["weeks"]} weeks), seed {run["seed"]},
profile {html.escape(str(run["profile"]))}; {run["wall_seconds"]:.1f} s,
{run["customers_per_second"]:.1f} customers/s, {run["requests"]} requests.</p>
<h2>Checks</h2><table><tr><th></th><th>check</th><th>value</th></tr>{checks_rows}</table>
<h2>Plots</h2>{images}
<h2>Figures</h2><pre>{
        html.escape(json.dumps({k: v for k, v in f.items() if k != "weeks"}, indent=2, default=str))
    }</pre>
<h2>Reconciliation</h2><ul>{problems}</ul>
</body></html>
"""
