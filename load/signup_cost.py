"""What one signup costs the app itself: CPU time, or instructions counted by callgrind.

    .venv/bin/python -m load.signup_cost --database postgresql
    .venv/bin/python -m load.signup_cost --database postgresql --instructions

The app runs in this process with no HTTP server and no client: each signup is one ASGI
call, 20 at a time, against a fresh, migrated database, with `STRIPE_SYNC_MODE=worker` (the
Stripe side is the worker's, not the answer's). Everything outside the app (the database
server, uvicorn's HTTP parsing, the client) is left out, so a change to the app's code shows
up alone.

CPU time on shared cores moves by ±15% from run to run. `--instructions` runs the same
signups under valgrind's callgrind twice, once without the measured signups, and prints
the difference per signup: instructions do not depend on what else the machine does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from load.stack import fresh_database

CONCURRENCY = 20
WARM_UP = 300
ONBOARD = "/api/v1/customers/onboard"


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": ONBOARD,
        "raw_path": ONBOARD.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def _signup(app: Any, email: str) -> None:
    body = json.dumps({"email": email, "name": "Cost"}).encode()
    delivered = asyncio.Event()
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        if not delivered.is_set():
            delivered.set()
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(_scope(body), receive, send)
    if statuses != [201]:
        raise RuntimeError(f"signup {email}: {statuses}")


async def _signups(app: Any, count: int, run_id: str) -> None:
    """`count` signups from CONCURRENCY callers in a closed loop."""
    numbers = list(range(count))

    async def caller() -> None:
        while numbers:
            await _signup(app, f"cost-{run_id}-{numbers.pop()}@example.com")

    await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))


async def _measure(app: Any, signups: int, rounds: int) -> list[float]:
    """CPU microseconds per signup, one figure per round, after a warm-up."""
    figures = []
    async with app.router.lifespan_context(app):
        await _signups(app, WARM_UP, uuid.uuid4().hex[:8])
        for _ in range(rounds if signups else 0):
            started = time.process_time()
            await _signups(app, signups, uuid.uuid4().hex[:8])
            figures.append((time.process_time() - started) / signups * 1e6)
    return figures


def run_app(database_url: str, signups: int, rounds: int) -> list[float]:
    import uvloop

    os.environ.update(
        DATABASE_URL=database_url,
        STRIPE_SYNC_MODE="worker",
        SIGNUP_RATE_LIMIT="0",
        STRIPE_API_BASE="http://127.0.0.1:9",  # never called: the worker's job
        STRIPE_API_KEY="sk_test_signup_cost",
        STRIPE_WEBHOOK_SECRET="whsec_signup_cost",
    )
    from system.app import create_served_app

    return uvloop.run(_measure(create_served_app(), signups, rounds))


def _instructions(database_url: str, signups: int) -> int:
    """Instructions callgrind counts for a run with `signups` measured signups."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "load.signup_cost",
        "--database-url",
        database_url,
        "--signups",
        str(signups),
        "--rounds",
        "1",
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if not found:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--database-url", help="an existing, migrated database (internal)")
    parser.add_argument("--signups", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--instructions", action="store_true", help="count with callgrind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url = args.database_url or fresh_database(args.database, Path(workdir))
        if args.instructions:
            if not shutil.which("valgrind"):
                raise SystemExit("--instructions needs valgrind (Debian package valgrind)")
            base, measured = _instructions(url, 0), _instructions(url, args.signups)
            per_signup = (measured - base) / args.signups
            print(f"{args.database}: {per_signup:,.0f} instructions per signup (callgrind)")
            return
        figures = run_app(url, args.signups, args.rounds)
        if figures:
            rounds = ", ".join(f"{figure:.0f}" for figure in figures)
            print(f"{args.database}: CPU per signup {min(figures):.0f} us (rounds: {rounds})")


if __name__ == "__main__":
    main()
