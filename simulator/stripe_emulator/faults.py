"""Seeded fault injection for API requests: 500s, 429s, added latency, held "timeouts".

Faults are decided before any handler runs, so a faulted request never
mutates state (and is never stored as an idempotent result).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

NONE = "none"
ERROR = "error"
RATE_LIMIT = "rate_limit"
TIMEOUT = "timeout"


@dataclass
class FaultConfig:
    error_rate: float = 0.0  # fraction of requests answered 500 api_error
    rate_limit_rate: float = 0.0  # fraction answered 429 rate_limit
    timeout_rate: float = 0.0  # fraction held for timeout_seconds, then 500
    timeout_seconds: float = 30.0
    latency_ms: int = 0  # added to every matching request
    latency_jitter_ms: int = 0  # plus uniform 0..jitter
    path_prefix: str | None = None  # only requests whose path starts with this
    methods: list[str] | None = None  # only these HTTP methods (e.g. ["POST"])
    seed: int | None = None


@dataclass
class Decision:
    action: str = NONE
    delay: float = 0.0


_NO_FAULT = Decision()


@dataclass
class Faults:
    """Live fault settings of an emulator (``state.faults``)."""

    config: FaultConfig = field(default_factory=FaultConfig)
    rng: random.Random = field(default_factory=random.Random)
    active: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, **kwargs: Any) -> FaultConfig:
        """Replace the configuration (unspecified fields get defaults)."""
        known = {f.name for f in fields(FaultConfig)}
        unknown = set(kwargs) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        cfg = FaultConfig(**kwargs)
        with self._lock:
            self.config = cfg
            self.rng = random.Random(cfg.seed)
            self.active = bool(
                cfg.error_rate
                or cfg.rate_limit_rate
                or cfg.timeout_rate
                or cfg.latency_ms
                or cfg.latency_jitter_ms
            )
        return cfg

    def clear(self) -> None:
        self.configure()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    def decide(self, method: str, path: str) -> Decision:
        if not self.active:
            return _NO_FAULT
        cfg = self.config
        if cfg.path_prefix and not path.startswith(cfg.path_prefix):
            return _NO_FAULT
        if cfg.methods and method.upper() not in {m.upper() for m in cfg.methods}:
            return _NO_FAULT
        with self._lock:
            delay = cfg.latency_ms / 1000.0
            if cfg.latency_jitter_ms:
                delay += self.rng.uniform(0, cfg.latency_jitter_ms) / 1000.0
            r = self.rng.random()
        if r < cfg.error_rate:
            return Decision(ERROR, delay)
        r -= cfg.error_rate
        if r < cfg.rate_limit_rate:
            return Decision(RATE_LIMIT, delay)
        r -= cfg.rate_limit_rate
        if r < cfg.timeout_rate:
            return Decision(TIMEOUT, delay + cfg.timeout_seconds)
        return Decision(NONE, delay)
