"""Throughput check: emulator customer creates vs a bare Starlette endpoint returning fixed JSON.

``python -m simulator.stripe_emulator.tools.bench [--seconds 3] [--threads 8]``
Both servers run as separate uvicorn processes; the load (``--threads`` keep-alive
connections from a raw asyncio client) comes from this one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time

import httpx

BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
import json
BODY = json.dumps(CUSTOMER).encode()
async def ep(request):
    await request.body()
    return Response(BODY, media_type="application/json")
app = Starlette(routes=[Route("/{p:path}", ep, methods=["GET", "POST"])])
"""


def _bare_app_source() -> str:
    """The bare app returns a full customer (as the emulator would), so the SDK does equal work."""
    from ..shapes import template

    customer = template("customer", discount=None, shipping=None, email="b@example.com")
    customer["metadata"] = {"k": "v"}
    return f"CUSTOMER = {customer!r}\n" + BARE_APP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(url: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def _aload(port: int, seconds: float, conns: int) -> int:
    body = b"email=b%40example.com&metadata[k]=v"
    req = (
        b"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer sk_test_benchmark\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    stop = time.monotonic() + seconds
    done = 0

    async def conn() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < stop:
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            done += 1
        writer.close()

    await asyncio.gather(*(conn() for _ in range(conns)))
    return done


def _load(port: int, seconds: float, conns: int) -> float:
    """Raw keep-alive HTTP/1.1 client: cheap, so the server is the bottleneck."""
    return asyncio.run(_aload(port, seconds, conns)) / seconds


def _sdk_load(port: int, seconds: float) -> float:
    """Sequential ``customers.create`` through the official SDK (what tests actually do)."""
    import stripe

    client = stripe.StripeClient(
        "sk_test_benchmark",
        base_addresses={"api": f"http://127.0.0.1:{port}"},
        max_network_retries=0,
    )
    n = 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        client.v1.customers.create(params={"email": "b@example.com", "metadata": {"k": "v"}})
        n += 1
    return n / seconds


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args(argv)
    emu_port, bare_port = _free_port(), _free_port()
    uv = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "simulator.stripe_emulator", "--port", str(emu_port)]
        ),
        subprocess.Popen(
            [*uv, "--port", str(bare_port), "bench_bare:app"],
            cwd=_write_bare(),
        ),
    ]
    try:
        _wait(f"http://127.0.0.1:{emu_port}/_emulator/health")
        _wait(f"http://127.0.0.1:{bare_port}/")
        bare = _load(bare_port, args.seconds, args.threads)
        emu = _load(emu_port, args.seconds, args.threads)
        out: dict[str, float] = {"raw_bare_rps": round(bare), "raw_emulator_rps": round(emu)}
        out["raw_ratio"] = round(emu / bare, 3)
        sdk_bare = _sdk_load(bare_port, args.seconds)
        sdk_emu = _sdk_load(emu_port, args.seconds)
        out.update(sdk_bare_rps=round(sdk_bare), sdk_emulator_rps=round(sdk_emu))
        out["sdk_ratio"] = round(sdk_emu / sdk_bare, 3)
        print(json.dumps(out))
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


def _write_bare() -> str:
    import tempfile
    from pathlib import Path

    d = tempfile.mkdtemp(prefix="emu-bench-")
    Path(d, "bench_bare.py").write_text(_bare_app_source())
    return d


if __name__ == "__main__":
    main()
