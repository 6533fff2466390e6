"""Stripe's example objects (``shapes.json``), used as templates for responses."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

_PATH = Path(__file__).with_name("shapes.json")


@lru_cache(maxsize=1)
def _shapes() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(_PATH.read_text())
    return data


def jcopy(value: Any) -> Any:
    """Fast deep copy for JSON data (str keys; dicts, lists, scalars): an orjson round trip."""
    return orjson.loads(orjson.dumps(value))


def template(name: str, **overrides: Any) -> dict[str, Any]:
    """A fresh copy of Stripe's example ``name`` object (e.g. ``"customer"``)."""
    out: dict[str, Any] = jcopy(_shapes()[name])
    out.update(overrides)
    return out


class Blank:
    """Fast factory for new objects: Stripe's example with ``overrides``, copied per call.

    Build once at import (``BLANK = Blank("customer", discount=None)``), then
    ``BLANK.new(id=..., created=...)`` costs a shallow copy plus copies of the
    nested containers only.
    """

    def __init__(self, name: str, **overrides: Any) -> None:
        self.base = template(name, **overrides)
        self.nested = [k for k, v in self.base.items() if isinstance(v, (dict, list))]

    def new(self, **values: Any) -> dict[str, Any]:
        out = dict(self.base)
        for k in self.nested:
            out[k] = jcopy(out[k])
        out.update(values)
        return out


def fields_of(name: str) -> frozenset[str]:
    return frozenset(_shapes()[name])
