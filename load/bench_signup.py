"""Benchmark: signups against the real stack (uvicorn + emulator), sequential and concurrent.

    .venv/bin/python -m load.bench_signup --database sqlite --database postgresql
    .venv/bin/python -m load.bench_signup --database postgresql --stripe-worker --workers 2
    .venv/bin/python -m load.bench_signup --database postgresql --stripe-worker --cpu

Prints p50/p95/p99 latency and signups per second for each database and concurrency, and
how long after the run's last answer every signup had its Stripe customer (after the
answer in the API's processes, or with `--stripe-worker` by the `stripe-worker` process).
With `--cpu`, each row is followed by the CPU each process spent per signup (load/cpu.py),
measured until every Stripe customer exists.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from load import cpu
from load.stack import fresh_database, running_stack


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


async def run(url: str, total: int, concurrency: int) -> tuple[list[float], float]:
    """`total` signups from `concurrency` clients in a closed loop. The client is aiohttp,
    the lightest here: on 2 shared cores the load generator's CPU is the system's loss."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    run_id = uuid.uuid4().hex[:8]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url=url, connector=connector) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = {"email": f"bench-{run_id}-{i}@example.com", "name": f"Bench {i}"}
                started = time.perf_counter()
                async with client.post("/api/v1/customers/onboard", json=body) as response:
                    text = await response.text()
                latencies.append(time.perf_counter() - started)
                if response.status != 201:
                    raise RuntimeError(f"signup {i}: {response.status} {text}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed


async def stripe_settled(database_url: str, limit_seconds: float = 300.0) -> float:
    """Seconds until no customer lacks its Stripe customer; fails past `limit_seconds`."""
    from sqlalchemy import func, select

    from system.db.engine import create_engine
    from system.db.tables import customers

    engine = create_engine(database_url)
    query = select(func.count()).where(customers.c.stripe_customer_id.is_(None))
    started = time.perf_counter()
    try:
        while True:
            async with engine.connect() as connection:
                missing = (await connection.execute(query)).scalar_one()
            waited = time.perf_counter() - started
            if not missing:
                return waited
            if waited > limit_seconds:
                raise RuntimeError(f"{missing} signups without a Stripe customer")
            await asyncio.sleep(0.02)
    finally:
        await engine.dispose()


def report(label: str, latencies: list[float], elapsed: float, *extra: str) -> str:
    """A table row: latency percentiles, the rate, then any `extra` columns."""
    ms = [v * 1000 for v in latencies]
    figures = (percentile(ms, 50), percentile(ms, 95), percentile(ms, 99), max(ms))
    columns = [
        label,
        str(len(ms)),
        *(f"{value:.1f}" for value in (*figures, statistics.mean(ms))),
        f"{len(ms) / elapsed:.0f}",
        *extra,
    ]
    return "| " + " | ".join(columns) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--signups", type=int, default=500)
    parser.add_argument("--concurrency", type=int, action="append")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--stripe-worker",
        action="store_true",
        help="STRIPE_SYNC_MODE=worker: Stripe customers made by a stripe-worker process",
    )
    parser.add_argument("--cpu", action="store_true", help="CPU per signup of each process")
    args = parser.parse_args()
    databases = args.database or ["sqlite", "postgresql"]
    levels = args.concurrency or [1, 20]
    columns = "database, concurrency | signups | p50 ms | p95 ms | p99 ms | max ms | mean ms"
    print(f"| {columns} | signups/s | Stripe done +s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    gc.freeze()  # the load generator's own GC pauses would count as the system's latency
    with tempfile.TemporaryDirectory() as workdir:
        for kind in databases:
            url = fresh_database(kind, Path(workdir))
            with running_stack(url, args.workers, args.stripe_worker) as stack:
                asyncio.run(run(stack.system_url, 200, max(levels)))  # warm up every connection
                asyncio.run(stripe_settled(url))
                for concurrency in levels:
                    before = cpu.snapshot() if args.cpu else {}
                    latencies, elapsed = asyncio.run(
                        run(stack.system_url, args.signups, concurrency)
                    )
                    settled = asyncio.run(stripe_settled(url))
                    label = f"{kind}, {concurrency}"
                    print(report(label, latencies, elapsed, f"{settled:.2f}"), flush=True)
                    if args.cpu:
                        print(cpu.per_request(before, cpu.snapshot(), args.signups), flush=True)


if __name__ == "__main__":
    main()
