"""The simulated customers' HTTP client: answers read whole and timed; failures named."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.servers import ServerThread, free_port
from simulator.staging.http import CustomerClient, TransportFailure


async def _echo(request: Request) -> JSONResponse:
    body = await request.json() if request.method == "POST" else None
    return JSONResponse(
        {
            "auth": request.headers.get("authorization"),
            "query": dict(request.query_params),
            "body": body,
        },
        201 if body else 200,
    )


def test_requests_carry_the_key_body_and_query() -> None:
    app = Starlette(routes=[Route("/echo", _echo, methods=["GET", "POST"])])

    async def exchange(url: str) -> list[tuple[int, object, float]]:
        async with CustomerClient(url, connections=2) as client:
            posted = await client.request("POST", "/echo", api_key="k1", json={"a": 1})
            got = await client.request("GET", "/echo", params={"limit": "3"})
        return [(a.status_code, a.json(), a.latency) for a in (posted, got)]

    with ServerThread(app) as server:
        (post_status, post_body, latency), (get_status, get_body, _) = asyncio.run(
            exchange(server.url)
        )
    assert (post_status, post_body) == (201, {"auth": "Bearer k1", "query": {}, "body": {"a": 1}})
    assert (get_status, get_body) == (200, {"auth": None, "query": {"limit": "3"}, "body": None})
    assert latency > 0


def test_no_server_is_a_transport_failure() -> None:
    async def call() -> None:
        async with CustomerClient(f"http://127.0.0.1:{free_port()}", connections=1) as client:
            await client.request("GET", "/")

    with pytest.raises(TransportFailure):
        asyncio.run(call())
