"""Stripe-shaped API errors: the exception handlers raise and its JSON body.

Every error renders as ``{"error": {"type", "code"?, "message", "param"?,
"decline_code"?, "doc_url"?}}`` with the HTTP status Stripe uses.
"""

from __future__ import annotations

from typing import Any

DOC_BASE = "https://stripe.com/docs/error-codes/"

INVALID_REQUEST = "invalid_request_error"
API_ERROR = "api_error"
CARD_ERROR = "card_error"
IDEMPOTENCY_ERROR = "idempotency_error"


class StripeError(Exception):
    """An error response. Raise it from a handler; the app renders it."""

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {}
        if self.code is not None:
            err["code"] = self.code
        if self.decline_code is not None:
            err["decline_code"] = self.decline_code
        if self.code is not None:
            err["doc_url"] = DOC_BASE + self.code.replace("_", "-")
        err["message"] = self.message
        if self.param is not None:
            err["param"] = self.param
        err["type"] = self.type
        return {"error": err}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, INVALID_REQUEST, message, code=code, param=param)


def resource_missing(
    object_name: str, obj_id: str, param: str = "id", status: int = 404
) -> StripeError:
    """404 for the object in the URL; pass ``status=400`` for an id given as a param."""
    return StripeError(
        status,
        INVALID_REQUEST,
        f"No such {object_name}: '{obj_id}'",
        code="resource_missing",
        param=param,
    )


def parameter_unknown(param: str) -> StripeError:
    return invalid(f"Received unknown parameter: {param}", param, "parameter_unknown")


def parameter_missing(param: str) -> StripeError:
    return invalid(f"Missing required param: {param}.", param, "parameter_missing")


def parameter_invalid_integer(param: str, value: Any) -> StripeError:
    return invalid(f"Invalid integer: {value}", param, "parameter_invalid_integer")


def parameter_invalid_empty(param: str) -> StripeError:
    return invalid(
        f"You passed an empty string for '{param}'. We assume empty values are an attempt "
        f"to unset a parameter; however '{param}' cannot be unset. You should remove "
        f"'{param}' from your request or supply a non-empty value.",
        param,
        "parameter_invalid_empty",
    )


def parameter_invalid_boolean(param: str, value: Any) -> StripeError:
    return invalid(f"Invalid boolean: {value}", param)


def parameter_invalid_enum(param: str, value: Any, allowed: tuple[str, ...]) -> StripeError:
    leaf = param.rsplit("[", 1)[-1].rstrip("]")
    choices = allowed[0]
    if len(allowed) > 1:
        choices = ", ".join(allowed[:-1]) + ", or " + allowed[-1]
    return invalid(f"Invalid {leaf}: must be one of {choices}", param)


def parameter_invalid_hash(param: str) -> StripeError:
    return invalid(f"Invalid hash for {param}", param)


def parameter_invalid_array(param: str) -> StripeError:
    return invalid(f"Invalid array for {param}", param)


def string_too_long(param: str, max_length: int) -> StripeError:
    return invalid(
        f"Invalid string: must be at most {max_length} characters",
        param,
        "parameter_invalid_string",
    )


def integer_out_of_range(param: str, message: str) -> StripeError:
    return invalid(message, param, "parameter_invalid_integer")


def _mask_key(key: str) -> str:
    if len(key) <= 12:
        return key
    head = key[: key.rfind("_", 0, 8) + 1] if key.count("_") >= 2 else key[:3]
    return f"{head}****{key[-4:]}"


def invalid_api_key(key: str) -> StripeError:
    return StripeError(
        401,
        INVALID_REQUEST,
        f"Invalid API Key provided: {_mask_key(key)}",
        headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
    )


def missing_api_key() -> StripeError:
    return StripeError(
        401,
        INVALID_REQUEST,
        "You did not provide an API key. You need to provide your API key in the "
        "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
        "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
        "or we can help at https://support.stripe.com/.",
        headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
    )


def rate_limit() -> StripeError:
    return StripeError(
        429,
        INVALID_REQUEST,
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
    )


def api_error(message: str = "An unknown error occurred") -> StripeError:
    return StripeError(500, API_ERROR, message)


def idempotency_error(key: str) -> StripeError:
    return StripeError(
        400,
        IDEMPOTENCY_ERROR,
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
    )


def idempotency_endpoint_error(key: str, first: str, now: str) -> StripeError:
    return StripeError(
        400,
        IDEMPOTENCY_ERROR,
        "Keys for idempotent requests can only be used for the same endpoint they were first "
        f"used for ('{first}' vs '{now}'). Try using a key other than '{key}' if you meant to "
        "execute a different request.",
    )


def parameters_exclusive(*params: str) -> StripeError:
    return invalid(
        f"You may only specify one of these parameters: {', '.join(params)}.",
        params[0],
        "parameters_exclusive",
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        INVALID_REQUEST,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )
