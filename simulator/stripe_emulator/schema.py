"""Tiny declarative param schemas, validated before a handler runs.

A handler declares ``{"name": Str(), "amount": Int(required=True), ...}``.
:func:`validate` walks the decoded form, reports Stripe's errors with the full
bracketed param name (``items[0][foo]``), and returns coerced values:

* ``Str``: ``""`` -> ``None`` (Stripe: "unset"/null) unless ``emptyable=False``
* ``Int``/``Bool``/``Enum``: parsed; ``""`` -> ``None`` only if ``emptyable``
* ``Metadata``: dict of str -> str | None (None = delete key); whole ``""`` -> None
* ``Obj``: nested fields (unknown/missing sub-params reported with brackets)
* ``ListOf``: list of items; ``""`` -> ``None`` (clear)
* ``Range``: ``created=123`` or ``created[gte]=..`` -> ``{"gte": 123}``
"""

from __future__ import annotations

from typing import Any

from . import errors

Schema = dict[str, "Param"]

_MISSING = object()


class Param:
    """Base class: ``coerce`` gets the raw decoded value and the full param name."""

    def __init__(self, *, required: bool = False, emptyable: bool = True) -> None:
        self.required = required
        self.emptyable = emptyable

    def coerce(self, value: Any, name: str) -> Any:
        if value == "":
            if not self.emptyable:
                raise errors.parameter_invalid_empty(name)
            return None
        return self.coerce_value(value, name)

    def coerce_value(self, value: Any, name: str) -> Any:
        return value


def _describe(value: Any) -> str:
    return str(value)


class Str(Param):
    def __init__(
        self, *, required: bool = False, emptyable: bool = True, max_length: int = 5000
    ) -> None:
        super().__init__(required=required, emptyable=emptyable)
        self.max_length = max_length

    def coerce_value(self, value: Any, name: str) -> Any:
        if not isinstance(value, str):
            raise errors.invalid(f"Invalid string: {_describe(value)}", name)
        if len(value) > self.max_length:
            raise errors.string_too_long(name, self.max_length)
        return value


class Int(Param):
    def __init__(
        self,
        *,
        required: bool = False,
        emptyable: bool = False,
        min_value: int | None = None,
        max_value: int | None = None,
    ) -> None:
        super().__init__(required=required, emptyable=emptyable)
        self.min_value = min_value
        self.max_value = max_value

    def coerce_value(self, value: Any, name: str) -> Any:
        if not isinstance(value, str):
            raise errors.parameter_invalid_integer(name, _describe(value))
        s = value.strip()
        body = s[1:] if s[:1] in "+-" else s
        if not body.isdigit() or not body.isascii():
            raise errors.parameter_invalid_integer(name, value)
        n = int(s)
        if self.min_value is not None and n < self.min_value:
            raise errors.integer_out_of_range(
                name, f"This value must be greater than or equal to {self.min_value}."
            )
        if self.max_value is not None and n > self.max_value:
            raise errors.integer_out_of_range(
                name, f"This value must be less than or equal to {self.max_value}."
            )
        return n


class Bool(Param):
    def __init__(self, *, required: bool = False, emptyable: bool = False) -> None:
        super().__init__(required=required, emptyable=emptyable)

    def coerce_value(self, value: Any, name: str) -> Any:
        if value in ("true", "True", "1"):
            return True
        if value in ("false", "False", "0"):
            return False
        raise errors.parameter_invalid_boolean(name, _describe(value))


class Enum(Param):
    def __init__(self, *values: str, required: bool = False, emptyable: bool = False) -> None:
        super().__init__(required=required, emptyable=emptyable)
        self.values = tuple(values)

    def coerce_value(self, value: Any, name: str) -> Any:
        if value not in self.values:
            raise errors.parameter_invalid_enum(name, value, self.values)
        return value


class Metadata(Param):
    """``metadata[k]=v`` map. Values ``None`` mean "delete this key"."""

    MAX_KEYS = 50

    def coerce_value(self, value: Any, name: str) -> Any:
        if isinstance(value, list):
            value = {str(i): v for i, v in enumerate(value)}
        if not isinstance(value, dict):
            raise errors.invalid(f"Invalid hash for {name}", name)
        out: dict[str, str | None] = {}
        for k, v in value.items():
            if not isinstance(v, str):
                raise errors.invalid(f"Invalid string: {_describe(v)}", f"{name}[{k}]")
            if len(k) > 40:
                raise errors.invalid(
                    f"Metadata keys must be at most 40 characters long (got '{k}').",
                    f"{name}[{k}]",
                )
            if len(v) > 500:
                raise errors.invalid(
                    "Metadata values can have up to 500 characters, but you passed in a "
                    f"value that is {len(v)} characters.",
                    f"{name}[{k}]",
                )
            out[k] = v if v != "" else None
        if len(out) > self.MAX_KEYS:
            raise errors.invalid(
                f"Metadata can have up to {self.MAX_KEYS} keys, but you passed in {len(out)}.",
                name,
            )
        return out


class Obj(Param):
    def __init__(self, fields: Schema, *, required: bool = False, emptyable: bool = True) -> None:
        super().__init__(required=required, emptyable=emptyable)
        self.fields = fields

    def coerce_value(self, value: Any, name: str) -> Any:
        if isinstance(value, list):
            value = {str(i): v for i, v in enumerate(value)}
        if not isinstance(value, dict):
            raise errors.parameter_invalid_hash(name)
        return validate_fields(self.fields, value, name)


class ListOf(Param):
    def __init__(
        self,
        item: Param,
        *,
        required: bool = False,
        emptyable: bool = True,
        max_items: int | None = None,
    ) -> None:
        super().__init__(required=required, emptyable=emptyable)
        self.item = item
        self.max_items = max_items

    def coerce_value(self, value: Any, name: str) -> Any:
        if isinstance(value, dict):
            if not all(k.isdigit() for k in value):
                raise errors.parameter_invalid_array(name)
            value = [value[k] for k in sorted(value, key=int)]
        elif not isinstance(value, list):
            value = [value]
        if self.max_items is not None and len(value) > self.max_items:
            raise errors.invalid(f"Invalid array: must have at most {self.max_items} items", name)
        return [self.item.coerce(v, f"{name}[{i}]") for i, v in enumerate(value)]


_RANGE_KEYS = ("gt", "gte", "lt", "lte")


class Range(Param):
    """Timestamp filter: ``created=123`` or ``created[gt|gte|lt|lte]=...``."""

    def coerce_value(self, value: Any, name: str) -> Any:
        if isinstance(value, str):
            n = Int().coerce(value, name)
            return {"gte": n, "lte": n}
        if not isinstance(value, dict):
            raise errors.parameter_invalid_hash(name)
        out: dict[str, int] = {}
        for k, v in value.items():
            if k not in _RANGE_KEYS:
                raise errors.parameter_unknown(f"{name}[{k}]")
            out[k] = Int().coerce(v, f"{name}[{k}]")
        return out


def in_range(value: int, rng: dict[str, int]) -> bool:
    if "gt" in rng and not value > rng["gt"]:
        return False
    if "gte" in rng and not value >= rng["gte"]:
        return False
    if "lt" in rng and not value < rng["lt"]:
        return False
    return not ("lte" in rng and not value <= rng["lte"])


def validate_fields(
    fields: Schema, data: dict[str, Any], prefix: str | None = None
) -> dict[str, Any]:
    """Validate ``data`` against ``fields``; ``prefix`` is the enclosing param name."""
    for key in data:
        if key not in fields:
            raise errors.parameter_unknown(f"{prefix}[{key}]" if prefix else key)
    out: dict[str, Any] = {}
    for key, param in fields.items():
        full = f"{prefix}[{key}]" if prefix else key
        raw = data.get(key, _MISSING)
        if raw is _MISSING:
            if param.required:
                raise errors.parameter_missing(full)
            continue
        value = param.coerce(raw, full)
        if value is None and param.required:
            raise errors.parameter_missing(full)
        out[key] = value
    return out


EXPAND = ListOf(Str())
COMMON: Schema = {"expand": EXPAND}


def with_common(schema: Schema) -> Schema:
    """Add the params every endpoint accepts (``expand``)."""
    return {**COMMON, **schema}


def validate(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """Validate top-level request params (schema should already include COMMON)."""
    if not data:
        for key, param in schema.items():
            if param.required:
                raise errors.parameter_missing(key)
        return {}
    return validate_fields(schema, data)


# A postal address, as customers, shipping and billing details take it.
ADDRESS = Obj(
    {
        "city": Str(),
        "country": Str(),
        "line1": Str(),
        "line2": Str(),
        "postal_code": Str(),
        "state": Str(),
    }
)
