"""Stripe emulator benchmark (GitHub issue 4), measured through the official ``stripe`` SDK.

    .venv/bin/python load/bench_emulator.py [--seconds 5] [--threads 8] [--big 100000]

Three servers, each its own process on 127.0.0.1:

* ours: ``python -m simulator.stripe_emulator`` (no persistence);
* ``localstripe`` (PyPI) from its own virtualenv (``--localstripe-venv``, default
  ``/tmp/bench-venv``; created with ``python -m venv`` + ``pip install localstripe`` if
  missing), never installed into the project;
* bare: a Starlette endpoint under uvicorn returning a fixed customer JSON (the limit).

Measured: customers created per second sequentially and from ``--threads`` threads
(one ``StripeClient`` each), the mixed billing flow per second (customer, attach card,
subscription, invoice list, confirmed payment intent), and our sequential create rate
with 1,000 and with ``--big`` objects stored in the account. Prints a table and the
ratios the issue asks for (>= 0.8x bare on creates, >= 10x localstripe on the flow,
<= 20 % slower at 100,000 stored objects).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import stripe

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


# -- servers -------------------------------------------------------------------


def _bare_source() -> str:
    sys.path.insert(0, str(ROOT))
    from simulator.stripe_emulator.shapes import template

    customer = template("customer", discount=None, shipping=None, email="b@example.com")
    customer["metadata"] = {"k": "v"}
    return (
        f"CUSTOMER = {customer!r}\n"
        "import json\n"
        "from starlette.applications import Starlette\n"
        "from starlette.responses import Response\n"
        "from starlette.routing import Route\n"
        "BODY = json.dumps(CUSTOMER).encode()\n"
        "async def ep(request):\n"
        "    await request.body()\n"
        "    return Response(BODY, media_type='application/json')\n"
        "app = Starlette(routes=[Route('/{p:path}', ep, methods=['GET', 'POST'])])\n"
    )


LOCALSTRIPE_MAIN = """
import sys
from aiohttp import web
from localstripe import server
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None,
            print=None)
"""


def _localstripe_python(venv: Path) -> Path:
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "localstripe"], check=True)
    return py


def start_servers(tmp: Path, venv: Path) -> tuple[dict[str, int], list[subprocess.Popen[bytes]]]:
    ports = {"ours": _free_port(), "bare": _free_port(), "localstripe": _free_port()}
    (tmp / "bench_bare.py").write_text(_bare_source())
    (tmp / "run_localstripe.py").write_text(LOCALSTRIPE_MAIN)

    def popen(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    procs = {
        "ours": popen(
            [sys.executable, "-m", "simulator.stripe_emulator", "--port", str(ports["ours"])],
            ROOT,
        ),
        "bare": popen(
            [
                *(sys.executable, "-m", "uvicorn", "--host", HOST, "--port", str(ports["bare"])),
                *("--log-level", "warning", "--no-access-log", "bench_bare:app"),
            ],
            tmp,
        ),
        # localstripe keeps its pickle in the working directory
        "localstripe": popen(
            [str(_localstripe_python(venv)), "run_localstripe.py", str(ports["localstripe"])],
            tmp,
        ),
    }
    _wait(f"http://{HOST}:{ports['ours']}/_emulator/health", procs["ours"])
    _wait(f"http://{HOST}:{ports['bare']}/", procs["bare"])
    _wait(f"http://{HOST}:{ports['localstripe']}/", procs["localstripe"])
    return ports, list(procs.values())


# -- load ----------------------------------------------------------------------


def client(port: int, key: str = "sk_test_benchmark") -> stripe.StripeClient:
    return stripe.StripeClient(
        key, base_addresses={"api": f"http://{HOST}:{port}"}, max_network_retries=0
    )


def create_customer(c: stripe.StripeClient) -> None:
    c.v1.customers.create(params={"email": "b@example.com", "metadata": {"k": "v"}})


def rate(fn: Callable[[], None], seconds: float) -> float:
    n = 0
    start = time.monotonic()
    stop = start + seconds
    while time.monotonic() < stop:
        fn()
        n += 1
    return n / (time.monotonic() - start)


def best_rate(fn: Callable[[], None], seconds: float, rounds: int) -> float:
    """Best of ``rounds`` bursts: a shared machine only ever makes a burst slower."""
    return max(rate(fn, seconds / rounds) for _ in range(rounds))


def threaded_rate(port: int, threads: int, seconds: float) -> float:
    counts = [0] * threads
    barrier = threading.Barrier(threads + 1)
    stop = [0.0]

    def work(i: int) -> None:
        c = client(port)
        create_customer(c)  # warm the connection
        barrier.wait()
        while time.monotonic() < stop[0]:
            create_customer(c)
            counts[i] += 1

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    stop[0] = time.monotonic() + seconds + 0.05
    start = time.monotonic()
    barrier.wait()
    for t in ts:
        t.join()
    return sum(counts) / (time.monotonic() - start)


class Flow:
    """customer -> attach card -> subscription -> invoice list -> payment intent."""

    STEPS = ("customer", "attach card", "subscription", "invoice list", "payment intent")

    def __init__(self, c: stripe.StripeClient) -> None:
        self.c = c
        self.item: dict[str, Any]
        try:
            price = c.v1.prices.create(
                params={
                    "currency": "usd",
                    "unit_amount": 1500,
                    "recurring": {"interval": "month"},
                    "product_data": {"name": "Bench"},
                }
            )
            self.item = {"price": price.id}
            self.note = ""
        except stripe.StripeError:  # localstripe has no /v1/prices: the legacy plan
            product = c.v1.products.create(params={"name": "Bench"})
            plan = c.v1.plans.create(
                params={
                    "amount": 1500,
                    "currency": "usd",
                    "interval": "month",
                    "product": product.id,
                }
            )
            self.item = {"plan": plan.id}
            self.note = "no /v1/prices: subscribed to a Plan instead"

    def step(self, name: str, state: dict[str, Any]) -> None:
        c = self.c
        if name == "customer":
            state["cus"] = c.v1.customers.create(params={"email": "f@example.com"}).id
        elif name == "attach card":
            pm = c.v1.payment_methods.attach("pm_card_visa", params={"customer": state["cus"]})
            state["pm"] = pm.id
            c.v1.customers.update(
                state["cus"], params={"invoice_settings": {"default_payment_method": pm.id}}
            )
        elif name == "subscription":
            params: Any = {"customer": state["cus"], "items": [self.item]}
            sub = c.v1.subscriptions.create(params=params)
            if sub.status != "active":
                raise RuntimeError(f"subscription is {sub.status}")
        elif name == "invoice list":
            if not c.v1.invoices.list(params={"customer": state["cus"]}).data:
                raise RuntimeError("no invoice for the new subscription")
        else:
            pi = c.v1.payment_intents.create(
                params={
                    "amount": 2000,
                    "currency": "usd",
                    "customer": state["cus"],
                    "payment_method": state["pm"],
                    "confirm": True,
                    "off_session": True,
                }
            )
            if pi.status != "succeeded":
                raise RuntimeError(f"payment intent is {pi.status}")

    def supported(self) -> tuple[list[str], dict[str, str]]:
        """Run the flow once step by step: the steps that work, and why the others fail."""
        ok: list[str] = []
        failed: dict[str, str] = {}
        state: dict[str, Any] = {}
        for name in self.STEPS:
            try:
                self.step(name, state)
                ok.append(name)
            except Exception as e:  # report, don't stop: measure what works
                failed[name] = f"{type(e).__name__}: {str(e)[:100]}"
                if name in ("customer", "attach card"):
                    break  # later steps need these
        return ok, failed

    def run(self, steps: list[str]) -> None:
        state: dict[str, Any] = {}
        for name in steps:
            self.step(name, state)


async def _preload(port: int, key: str, total: int, conns: int = 8) -> None:
    """Create ``total`` customers fast with raw keep-alive HTTP (not part of the figures)."""
    body = b"email=p%40example.com"
    req = (
        b"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + key.encode() + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    left = [total]

    async def conn() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        while left[0] > 0:
            left[0] -= 1
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
        writer.close()

    await asyncio.gather(*(conn() for _ in range(conns)))


# -- main ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="sequential figures: best of N")
    ap.add_argument("--big", type=int, default=100_000, help="stored objects for the size run")
    ap.add_argument("--localstripe-venv", type=Path, default=Path("/tmp/bench-venv"))
    args = ap.parse_args(argv)
    secs = args.seconds
    rows: list[tuple[str, float | None, float | None, float | None]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as tmpdir:
        ports, procs = start_servers(Path(tmpdir), args.localstripe_venv)
        try:
            for name in ("ours", "bare", "localstripe"):
                port = ports[name]
                c = client(port)
                create_customer(c)
                seq = best_rate(functools.partial(create_customer, c), secs, args.rounds)
                par = threaded_rate(port, args.threads, secs)
                flow_rate: float | None = None
                if name != "bare":
                    flow = Flow(client(port, f"sk_test_flow_{name}"))
                    ok, failed = flow.supported()
                    if flow.note:
                        notes.append(f"{name}: {flow.note}")
                    if failed:
                        notes.append(
                            f"{name}: mixed flow measured without "
                            + "; ".join(f"[{k}] {v}" for k, v in failed.items())
                        )
                    if ok:
                        flow_rate = rate(functools.partial(flow.run, ok), secs)
                rows.append((name, seq, par, flow_rate))
            # size: our sequential create rate with 1,000 and with --big stored objects
            key = "sk_test_size"
            size_c = client(ports["ours"], key)
            asyncio.run(_preload(ports["ours"], key, 1_000))
            small = best_rate(lambda: create_customer(size_c), secs, args.rounds)
            stored = 1_000 + int(small * secs)
            asyncio.run(_preload(ports["ours"], key, max(args.big - stored, 0)))
            big = best_rate(lambda: create_customer(size_c), secs, args.rounds)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:,.0f}"

    print(f"stripe SDK {stripe.VERSION}, {secs:g} s per figure, {os.cpu_count()} CPUs, {HOST}")
    print(
        f"{'server':<12} {'creates/s seq':>14} {f'creates/s {args.threads}thr':>14} {'flow/s':>8}"
    )
    for row in rows:
        print(f"{row[0]:<12} {fmt(row[1]):>14} {fmt(row[2]):>14} {fmt(row[3]):>8}")
    by = {r[0]: r for r in rows}
    mine, bare, ls = by["ours"], by["bare"], by["localstripe"]

    def ratio(a: float | None, b: float | None) -> str:
        return "-" if not a or not b else f"{a / b:.2f}x"

    print()
    print(f"ours / bare, creates sequential: {ratio(mine[1], bare[1])} (target >= 0.8x)")
    print(
        f"ours / bare, creates {args.threads} threads: {ratio(mine[2], bare[2])} (target >= 0.8x)"
    )
    print(f"ours / localstripe, creates sequential: {ratio(mine[1], ls[1])}")
    print(f"ours / localstripe, creates {args.threads} threads: {ratio(mine[2], ls[2])}")
    print(f"ours / localstripe, mixed flow: {ratio(mine[3], ls[3])} (target >= 10x)")
    slower = (small - big) / small * 100
    print(
        f"ours, creates/s with 1,000 stored: {small:,.0f}; with {args.big:,} stored: {big:,.0f} "
        f"({slower:+.1f}% slower; target <= 20%)"
    )
    for n in notes:
        print("note:", n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
