"""``expand[]`` support: replace ids in a response with the objects they name.

Paths are dotted (``a.b``); list responses use the ``data.`` prefix. An id is
resolved by its prefix (``cus_`` -> customer collection); resource modules
register prefixes with :func:`register_prefix`. Stored objects are never
mutated: the expanded response is a copy along the expanded paths.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .store import Account

PREFIXES: dict[str, str] = {}
MAX_DEPTH = 4


def register_prefix(prefix: str, collection: str) -> None:
    PREFIXES[prefix] = collection


def resolve(account: Account, obj_id: str) -> dict[str, Any] | None:
    prefix = obj_id.split("_", 1)[0]
    name = PREFIXES.get(prefix)
    if name is None:
        return None
    obj = account.coll(name).get(obj_id)
    if obj is None:
        obj = account.tombstones.get(obj_id)
    return obj


def _not_expandable(path: str) -> errors.StripeError:
    return errors.invalid(f"This property cannot be expanded ({path}).")


def _expand(account: Account, node: Any, parts: list[str], full: str) -> Any:
    if isinstance(node, list):
        return [_expand(account, item, parts, full) for item in node]
    if not isinstance(node, dict):
        return node
    key = parts[0]
    if key not in node:
        raise _not_expandable(full)
    value = node[key]
    if isinstance(value, str):
        target = resolve(account, value)
        if target is None:
            raise _not_expandable(full)
        value = target
    elif isinstance(value, list) and len(parts) == 1:
        value = [resolve(account, v) or v if isinstance(v, str) else v for v in value]
    elif value is not None and not isinstance(value, (dict, list)):
        raise _not_expandable(full)
    if len(parts) > 1 and value is not None:
        value = _expand(account, value, parts[1:], full)
    out = dict(node)
    out[key] = value
    return out


def expand(account: Account, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    for path in dict.fromkeys(paths):
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise errors.invalid(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
                "expand",
            )
        obj = _expand(account, obj, parts, path)
    return obj
