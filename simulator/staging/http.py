"""The simulated customers' HTTP client: aiohttp on a bounded pool of keep-alive connections,
at most `connections` requests in flight, each retried while the connection fails or the
system answers 503.

The simulator and (embedded) the Stripe emulator share one process, so the client's own CPU
is taken from the run: httpx's pool scans every connection per request, which made the
client most of the simulator's time at 48 connections; aiohttp does not.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

import aiohttp


class TransportFailure(Exception):
    """The request got no answer: the connection failed, broke or timed out."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes
    latency: float  # seconds from sending the request to having the whole answer
    # An earlier attempt got no answer: it may have been done, and this one meet its effect.
    after_lost_answer: bool = False

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class CustomerClient:
    """`request()` against one base URL, at most `connections` at once, each tried up to
    `attempts` times; `sent` counts every request sent, retries included."""

    def __init__(
        self, base_url: str, connections: int, timeout: float = 60.0, attempts: int = 5
    ) -> None:
        """`attempts`: tries per request, the n-th retry after 0.2 * n seconds (5: about 2 s
        of a system away; a fault drill that restarts the system wants more)."""
        self._base_url = base_url.rstrip("/")
        self._connections = connections
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._attempts = attempts
        self._session: aiohttp.ClientSession | None = None
        # A request's latency is timed from when it has a slot, so that customers waiting
        # their turn here do not count as the system's latency.
        self._slots: asyncio.Semaphore | None = None
        self.sent = 0

    async def __aenter__(self) -> CustomerClient:
        connector = aiohttp.TCPConnector(limit=self._connections)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        self._slots = asyncio.Semaphore(self._connections)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        api_key: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """The answer, once the connection held and the system did not answer 503 (or
        the last attempt's); `TransportFailure` when the last attempt got no answer."""
        assert self._slots is not None, "use the client as an async context manager"
        last = self._attempts - 1
        lost = False
        for attempt in range(self._attempts):
            self.sent += 1
            try:
                async with self._slots:
                    answer = await self._send(method, path, api_key, json, params, headers)
            except TransportFailure:
                if attempt == last:
                    raise
                lost = True
            else:
                if answer.status_code != 503 or attempt == last:
                    return replace(answer, after_lost_answer=lost) if lost else answer
            await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _send(
        self,
        method: str,
        path: str,
        api_key: str | None,
        json: Any,
        params: dict[str, str] | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """One request, once."""
        assert self._session is not None, "use the client as an async context manager"
        headers = dict(extra_headers or {})
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        started = time.perf_counter()
        try:
            async with self._session.request(
                method, self._base_url + path, headers=headers, json=json, params=params
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TransportFailure(f"{method} {path}: {error!r}") from error
        return Answer(response.status, body, time.perf_counter() - started)
