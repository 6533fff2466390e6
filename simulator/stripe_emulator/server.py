"""Running the emulator: ``serve()`` (blocking, for the CLI) and ``EmulatorServer``
(a context manager running uvicorn in a background thread on a free loopback port).
"""

from __future__ import annotations

import gc
from types import TracebackType

import uvicorn

from simulator.servers import ServerThread

from .app import create_app
from .clock import Clock
from .state import EmulatorState


def _config(state: EmulatorState, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(state),
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 12111,
    persist_path: str | None = None,
    seed: int | None = None,
) -> None:
    """Run the emulator in the foreground until interrupted."""
    state = EmulatorState(persist_path=persist_path, seed=seed)
    # The store holds many small long-lived dicts; keep the cyclic GC from rescanning
    # them on every few thousand allocations (this process is dedicated to the emulator).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        uvicorn.Server(_config(state, host, port)).run()
    finally:
        state.close()


class EmulatorServer:
    """Background-thread emulator on a free loopback port.

    ``with EmulatorServer() as srv: StripeClient(key, base_addresses={"api": srv.base_url})``
    """

    def __init__(
        self,
        state: EmulatorState | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        persist_path: str | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.state = state or EmulatorState(persist_path=persist_path, seed=seed, clock=clock)
        self._owns_state = state is None
        self.host = host
        self._port = port
        self._runner: ServerThread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        runner = ServerThread(
            create_app(self.state),
            host=self.host,
            port=self._port,
            name="stripe-emulator",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._runner = runner.__enter__()
        self.port = runner.port
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.__exit__(None, None, None)
            self._runner = None
        if self._owns_state:
            self.state.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
