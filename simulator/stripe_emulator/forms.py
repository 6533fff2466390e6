"""Decoder for Stripe's form encoding (request bodies and GET query strings).

Stripe (and the official SDK's ``_api_encode``) flattens nested params into
bracketed keys: ``metadata[k]=v``, ``items[0][price]=x``, ``expand[]=a``.
:func:`decode` turns such a body back into nested dicts/lists of strings.
Empty strings are preserved (``metadata[k]=`` means "unset", ``description=``
means "set to null"), so the schema layer can give them Stripe's meaning.

A mapping whose keys are exactly ``0..n-1`` becomes a list; ``[]`` appends.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

Form = dict[str, Any]


class FormError(ValueError):
    """The body could not be decoded (e.g. a key is both a scalar and a hash)."""

    def __init__(self, param: str) -> None:
        super().__init__(f"Invalid parameter structure: {param}")
        self.param = param


def _split_key(key: str) -> list[str]:
    """``a[b][0][]`` -> ``['a', 'b', '0', '']``."""
    i = key.find("[")
    if i <= 0 or not key.endswith("]"):
        return [key]
    parts = [key[:i]]
    rest = key[i:]
    while rest:
        if not rest.startswith("["):
            return [key]
        j = rest.find("]")
        if j < 0:
            return [key]
        parts.append(rest[1:j])
        rest = rest[j + 1 :]
    return parts


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (dict, list)):
                node[k] = _listify(v)
        if node and all(isinstance(k, str) and k.isdigit() for k in node):
            n = len(node)
            if all(str(i) in node for i in range(n)):
                return [node[str(i)] for i in range(n)]
        return node
    if isinstance(node, list):
        return [_listify(v) if isinstance(v, (dict, list)) else v for v in node]
    return node


def decode_pairs(pairs: list[tuple[str, str]]) -> Form:
    """Build nested params from already-split ``(key, value)`` pairs."""
    out: Form = {}
    nested = False
    for key, value in pairs:
        if "[" not in key:
            out[key] = value
            continue
        nested = True
        parts = _split_key(key)
        if len(parts) == 1:
            out[key] = value
            continue
        node: Any = out
        for depth, part in enumerate(parts[:-1]):
            nxt_part = parts[depth + 1]
            if isinstance(node, list):
                if part == "":
                    child: Any = [] if nxt_part == "" else {}
                    node.append(child)
                    node = child
                    continue
                raise FormError(key)
            child = node.get(part)
            if child is None or not isinstance(child, (dict, list)):
                if child is not None:
                    raise FormError(key)
                child = [] if nxt_part == "" else {}
                node[part] = child
            elif isinstance(child, list) and nxt_part != "":
                # mixing a[]=x and a[0]=y: convert to an index-keyed dict
                child = {str(i): v for i, v in enumerate(child)}
                node[part] = child
            node = child
        last = parts[-1]
        if isinstance(node, list):
            node.append(value)
        elif last == "":
            node[last] = value
        else:
            if isinstance(node.get(last), (dict, list)):
                raise FormError(key)
            node[last] = value
    return _listify(out) if nested else out


def split_pairs(body: str) -> list[tuple[str, str]]:
    """``parse_qsl(body, keep_blank_values=True)``, minus its overhead on plain pieces."""
    out: list[tuple[str, str]] = []
    for piece in body.split("&"):
        if not piece:
            continue
        k, _, v = piece.partition("=")
        if "%" in k or "+" in k:
            k = unquote_plus(k)
        if "%" in v or "+" in v:
            v = unquote_plus(v)
        out.append((k, v))
    return out


def decode(body: bytes | str) -> Form:
    """Decode an ``application/x-www-form-urlencoded`` body or a query string."""
    if not body:
        return {}
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    return decode_pairs(split_pairs(body))
