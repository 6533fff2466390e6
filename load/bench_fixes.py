"""Benchmark: `fix-deployed` against the real stack, paid by credits and by PAYG charges.

    .venv/bin/python -m load.bench_fixes --database postgresql --concurrency 20

Each customer signs up and adds a card (10 credits); the first phase spends those credits,
the second deploys the same number of fixes again, each charged off-session at Stripe (the
emulator). Prints p50/p95/p99 latency and fixes per second for each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from load.bench_signup import report
from load.stack import fresh_database, running_stack

CREDITS_EACH = 10


async def setup_customers(client: aiohttp.ClientSession, count: int) -> list[str]:
    run = uuid.uuid4().hex[:8]

    async def one(i: int) -> str:
        body = {"email": f"fixes-{run}-{i}@example.com", "name": f"Fixer {i}"}
        async with client.post("/api/v1/customers/onboard", json=body) as created:
            key = str((await created.json())["api_key"])
        async with client.post(
            "/api/v1/billing/payment-methods",
            json={"payment_method": "pm_card_visa"},
            headers={"X-Api-Key": key},
        ) as card:
            if card.status != 201:
                raise RuntimeError(f"card: {card.status} {await card.text()}")
        return key

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def deploy(
    client: aiohttp.ClientSession,
    keys: list[str],
    phase: str,
    concurrency: int,
    expect_charge: bool,
) -> tuple[list[float], float]:
    work: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for n in range(CREDITS_EACH):
        for k, key in enumerate(keys):
            work.put_nowait((key, f"{phase}-{k}-{n}"))
    latencies: list[float] = []

    async def worker() -> None:
        while not work.empty():
            key, fix_id = work.get_nowait()
            started = time.perf_counter()
            async with client.post(
                "/api/v1/usage/fix-deployed",
                json={"fix_id": fix_id, "repo": "acme/api", "pr_number": 1},
                headers={"X-Api-Key": key},
            ) as response:
                body = await response.json()
            latencies.append(time.perf_counter() - started)
            if response.status != 201 or body["charged"] is not expect_charge:
                raise RuntimeError(f"{fix_id}: {response.status} {body}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def run(url: str, customers: int, concurrency: int, label: str) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url=url, connector=connector) as client:
        keys = await setup_customers(client, customers)
        for phase, charged in (("credit", False), ("payg", True)):
            latencies, elapsed = await deploy(client, keys, phase, concurrency, charged)
            print(report(f"{label}, {phase}, {concurrency}", latencies, elapsed), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    columns = "database, phase, concurrency | fixes | p50 ms | p95 ms | p99 ms | max ms | mean ms"
    print(f"| {columns} | fixes/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as workdir:
        url = fresh_database(args.database, Path(workdir))
        with running_stack(url, workers=args.workers) as stack:
            asyncio.run(run(stack.system_url, args.customers, args.concurrency, args.database))


if __name__ == "__main__":
    main()
