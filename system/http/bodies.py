"""Reading JSON request bodies into pydantic models, with problem details for bad input."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from system.http.problems import Problem

MAX_BODY_BYTES = 64 * 1024
Model = TypeVar("Model", bound=BaseModel)


async def read_json(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(
            413,
            "Payload Too Large",
            f"Bodies are limited to {limit} bytes.",
            slug="payload-too-large",
        )
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise Problem(
                413,
                "Payload Too Large",
                f"Bodies are limited to {limit} bytes.",
                slug="payload-too-large",
            )
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise Problem(
            400, "Malformed JSON", f"The body is not valid JSON: {error}", slug="malformed-json"
        ) from None


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "(body)",
            "message": item["msg"],
        }
        for item in error.errors(include_url=False)
    ]


def validation_problem(errors: list[dict[str, str]]) -> Problem:
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return Problem(
        422,
        "Validation Failed",
        f"Invalid fields: {fields}.",
        slug="validation-error",
        errors=errors,
    )


def parse(model: type[Model], payload: Any) -> Model:
    if not isinstance(payload, dict):
        raise validation_problem([{"field": "(body)", "message": "Expected a JSON object"}])
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise validation_problem(field_errors(error)) from None


async def read_model(request: Request, model: type[Model]) -> Model:
    return parse(model, await read_json(request))
