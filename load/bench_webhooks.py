"""Benchmark: webhook events delivered and verified per second, directly and via ``stripe listen``.

    .venv/bin/python -m load.bench_webhooks --events 5000 --mode direct --mode listen

The emulator runs in this process (uvicorn in a thread); the receiver runs in a
child process and verifies every delivery with ``stripe.Webhook.construct_event``.
Each run records ``--events`` events at once into one account (in-process, so the
API is not what is measured; ``--source api`` creates customers over HTTP instead)
and times from the first event recorded to the last event verified.

* ``direct``: one ``webhook_endpoint`` pointing at the receiver; the emulator's
  dispatcher signs and POSTs each event (one keep-alive connection, in order).
* ``listen``: the real Stripe CLI (``stripe listen --forward-to``) gets the events
  over the websocket, forwards them to the receiver and acknowledges each one.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import uuid
from typing import Any

import stripe

from simulator.stripe_cli import StripeCLI, find_binary
from simulator.stripe_emulator import EmulatorServer
from simulator.stripe_emulator.cli_sessions import sessions_for
from simulator.stripe_emulator.webhooks import Receiver, dispatcher_for


def _receive(secret: str, n: int, ready: Any, out: Any, timeout: float) -> None:
    with Receiver(default_secret=secret) as r:
        ready.put(r.url)
        ok = r.wait_for(n, timeout=timeout)
        times = (r.first_at, r.last_at)
        ids = r.ids()
        out.put(
            {
                "ok": ok,
                "count": len(ids),
                "unique": len(set(ids)),
                "bad": r.bad,
                "first": times[0],
                "last": times[1],
            }
        )


def _start_receiver(secret: str, n: int, timeout: float) -> tuple[Any, Any, str]:
    ctx = mp.get_context("spawn")
    ready, out = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_receive, args=(secret, n, ready, out, timeout), daemon=True)
    proc.start()
    return proc, out, ready.get(timeout=30)


def _emit(srv: EmulatorServer, key: str, n: int, source: str) -> float:
    state = srv.state
    account = state.account_for_key(key)
    started = time.time()
    if source == "api":
        client = stripe.StripeClient(key, base_addresses={"api": srv.base_url})
        for _ in range(n):
            client.v1.customers.create()
    else:
        for i in range(n):
            state.record_event(
                account, "customer.created", {"id": f"cus_bench{i}", "object": "customer"}
            )
    return started


def run_direct(srv: EmulatorServer, n: int, source: str, timeout: float) -> dict[str, Any]:
    key = "sk_test_" + uuid.uuid4().hex
    client = stripe.StripeClient(key, base_addresses={"api": srv.base_url})
    we = client.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/placeholder", "enabled_events": ["*"]}
    )
    proc, out, url = _start_receiver(we.secret, n, timeout)
    client.v1.webhook_endpoints.update(we.id, params={"url": url + "/hook"})
    started = _emit(srv, key, n, source)
    result = out.get(timeout=timeout + 30)
    proc.join(timeout=10)
    client.v1.webhook_endpoints.delete(we.id)
    dispatcher_for(srv.state).wait_idle(10)
    return {**result, "started": started}


def run_listen(srv: EmulatorServer, n: int, source: str, timeout: float) -> dict[str, Any]:
    key = "sk_test_" + uuid.uuid4().hex
    registry = sessions_for(srv.state)
    with StripeCLI(srv.base_url, key) as cli:
        secret = cli.print_secret()
        proc, out, url = _start_receiver(secret, n, timeout)
        before = set(registry.sessions)
        listen = cli.popen("listen", "--all-snapshot", "--forward-to", url + "/hook")
        deadline = time.monotonic() + 20
        while not any(s.connected for sid, s in registry.sessions.items() if sid not in before):
            if time.monotonic() > deadline:
                raise RuntimeError("stripe listen did not connect")
            time.sleep(0.02)
        started = _emit(srv, key, n, source)
        result = out.get(timeout=timeout + 30)
        proc.join(timeout=10)
        listen.terminate()
        listen.wait(timeout=15)
    return {**result, "started": started}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--mode", action="append", choices=["direct", "listen"])
    ap.add_argument("--source", choices=["record", "api"], default="record")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    modes = args.mode or ["direct", "listen"]
    print(f"events per run: {args.events}, source: {args.source}")
    print("| mode | events | verified | duplicates | bad signatures | seconds | events/s |")
    print("|---|---|---|---|---|---|---|")
    with EmulatorServer() as srv:
        for mode in modes:
            if mode == "listen" and find_binary() is None:
                print("| listen | - | - | - | - | - | skipped: no Stripe CLI (npm ci) |")
                continue
            runner = run_direct if mode == "direct" else run_listen
            r = runner(srv, args.events, args.source, args.timeout)
            if not r["ok"]:
                print(f"| {mode} | incomplete after {args.timeout:.0f} s: {r} |")
                continue
            seconds = r["last"] - r["started"]
            print(
                f"| {mode} | {args.events} | {r['unique']} | {r['count'] - r['unique']} | "
                f"{r['bad']} | {seconds:.2f} | {r['unique'] / seconds:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
