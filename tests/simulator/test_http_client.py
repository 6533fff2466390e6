"""The simulated customers' HTTP client: answers read whole and timed; 503s and failed
connections retried; failures named."""

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
        async with CustomerClient(
            f"http://127.0.0.1:{free_port()}", connections=1, attempts=2
        ) as client:
            try:
                await client.request("GET", "/")
            finally:
                assert client.sent == 2  # tried again before giving up

    with pytest.raises(TransportFailure):
        asyncio.run(call())


def test_a_503_is_retried_until_the_system_answers() -> None:
    answers = [503, 503, 200]

    async def flaky(request: Request) -> JSONResponse:
        return JSONResponse({"left": len(answers) - 1}, answers.pop(0))

    app = Starlette(routes=[Route("/flaky", flaky)])

    async def exchange(url: str) -> tuple[int, int]:
        async with CustomerClient(url, connections=1) as client:
            answer = await client.request("GET", "/flaky")
            return answer.status_code, client.sent

    with ServerThread(app) as server:
        assert asyncio.run(exchange(server.url)) == (200, 3)


def test_the_last_attempts_503_is_the_answer() -> None:
    async def down(request: Request) -> JSONResponse:
        return JSONResponse({}, 503)

    app = Starlette(routes=[Route("/down", down)])

    async def exchange(url: str) -> tuple[int, int]:
        async with CustomerClient(url, connections=1, attempts=2) as client:
            answer = await client.request("GET", "/down")
            return answer.status_code, client.sent

    with ServerThread(app) as server:
        assert asyncio.run(exchange(server.url)) == (503, 2)
