"""Running servers on loopback: an ASGI app in a thread, a server process, free ports.

Shared by the staging simulator, the benchmarks and the tests, which all start the system
and the Stripe emulator on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    """Poll `url` until it answers below 500, or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    # One client for all the polls: each new one builds a TLS context (~50 ms of CPU).
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(url).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


class ServerThread:
    """An ASGI app served by uvicorn on a loopback port (a free one unless given), in a
    background thread; `config` overrides uvicorn's settings (e.g. `lifespan="off"`)."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "asgi-server",
        **config: Any,
    ) -> None:
        import uvicorn

        self.host = host
        self.name = name
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        settings: dict[str, Any] = {
            "log_level": "warning",
            "access_log": False,
            "lifespan": "on",
            "backlog": 4096,
            **config,
        }
        self._server = uvicorn.Server(uvicorn.Config(app, **settings))
        setattr(self._server, "install_signal_handlers", lambda: None)  # noqa: B010
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> ServerThread:
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=self.name,
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._socket.close()


@contextlib.contextmanager
def server_process(
    args: list[str], env: dict[str, str], health_url: str | None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends, once `health_url` answers (at once for
    a process that serves nothing); its output goes to `log` (or nowhere: a pipe nobody
    reads would block it when full)."""
    with contextlib.ExitStack() as stack:
        sink: Any = stack.enter_context(log.open("ab")) if log else subprocess.DEVNULL
        proc = subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            if health_url:
                wait_until_up(health_url)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class RestartableProcess:
    """A server process that a fault drill may kill with SIGKILL (its whole process group:
    uvicorn's workers too) and start again on the same command, port and log."""

    def __init__(
        self, args: list[str], env: dict[str, str], health_url: str, log: Path | None = None
    ) -> None:
        self.args = args
        self.env = env
        self.health_url = health_url
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with contextlib.ExitStack() as stack:
            sink: Any = stack.enter_context(self.log.open("ab")) if self.log else subprocess.DEVNULL
            self.process = subprocess.Popen(
                self.args,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_up(self.health_url)

    def kill(self) -> None:
        """SIGKILL, no warning: what a crash or an OOM kill does."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        self.kills += 1

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None
