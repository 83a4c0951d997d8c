"""The official error body (`{"statusCode", "message", "error"}`, NestJS style) for every
failure, and the translation of domain and validation errors into it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from slotblock.core import errors

STATUS: dict[type[errors.SlotblockError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.PreconditionFailed: 412,
    errors.Unprocessable: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}
_LIST_STATUSES = frozenset({400, 422})  # class-validator style: every problem at once
# NestJS's phrases, fixed here so that they do not change with Python's http module.
PHRASES = {413: "Payload Too Large", 422: "Unprocessable Entity"}


def error_response(
    status: int, messages: list[str] | str, headers: dict[str, str] | None = None
) -> Response:
    """The official error body; 400 and 422 carry an array of messages, others a string."""
    if isinstance(messages, list) and status not in _LIST_STATUSES:
        messages = "; ".join(messages)
    phrase = PHRASES.get(status) or HTTPStatus(status).phrase
    body = {"statusCode": status, "message": messages, "error": phrase}
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def status_of(exc: errors.SlotblockError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def validation_messages(errs: Any) -> list[str]:
    """class-validator-like sentences for pydantic's errors, one per problem."""
    return list(dict.fromkeys(_sentence(err) for err in errs))


_FIXED = {
    "extra_forbidden": "property {name} should not exist",
    "missing": "{name} should not be empty",
    "json_invalid": "body is not valid JSON",
    "string_type": "{name} must be a string",
    "string_sub_type": "{name} must be a string",
    "bool_type": "{name} must be a boolean value",
    "bool_parsing": "{name} must be a boolean value",
    "list_type": "{name} must be an array",
    "model_type": "{name} must be an object",
    "model_attributes_type": "{name} must be an object",
    "dict_type": "{name} must be an object",
    "string_too_short": "{name} should not be empty",
    "string_too_long": "{name} must be shorter than or equal to {max_length} characters",
    "literal_error": "{name} must be one of the following values: {expected}",
    "finite_number": "{name} must be a finite number",
    "greater_than_equal": "{name} must not be less than {ge}",
    "less_than_equal": "{name} must not be greater than {le}",
}


# pydantic names the member of a union it tried (`function-after[_clean(), constrained-str]`,
# `list[str]`, `str`): validator internals, not official field names.
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none", "any"})


def _official(part: object) -> bool:
    if isinstance(part, int):
        return True
    text = str(part)
    return not (set(text) & set("[]()-, ") or text.lower() in _TYPE_TAGS)


def _sentence(err: dict[str, Any]) -> str:
    loc = [
        str(p)
        for p in err.get("loc", ())
        if p not in ("body", "query", "path", "header") and _official(p)
    ]
    name = ".".join(loc) or "body"
    kind = str(err.get("type", ""))
    ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
    if kind in _FIXED:
        return _FIXED[kind].format(name=name, **ctx)
    if kind.startswith(("int_", "float_")):
        return f"{name} must be a number"
    if kind == "string_pattern_mismatch" and loc and loc[-1] in ("startTime", "endTime"):
        return f"{name} must be epoch milliseconds as a decimal string"
    if kind == "value_error":
        return f"{name} {str(err.get('msg', '')).removeprefix('Value error, ')}"
    return f"{name} is invalid"


def domain_error_response(exc: errors.SlotblockError, retry_after_seconds: int = 5) -> Response:
    """The answer to a domain error (a 503 says when to retry: `retry_after_seconds`)."""
    status = status_of(exc)
    headers: dict[str, str] | None = None
    if isinstance(exc, errors.RateLimited):
        headers = {"Retry-After": str(exc.retry_after_s)}
    elif status == 503:
        headers = {"Retry-After": str(retry_after_seconds)}
    return error_response(
        status, list(exc.messages) if status in _LIST_STATUSES else exc.message, headers
    )


def http_error_response(exc: HTTPException) -> Response:
    """The answer to a Starlette HTTPException (404 of a route, 429 of the rate limits…)."""
    message = "Cannot find that route" if exc.status_code == 404 else str(exc.detail)
    return error_response(exc.status_code, message, dict(exc.headers or {}))


def install(app: FastAPI, retry_after_seconds: int = 5) -> None:
    """Register the handlers that give every failure the official shape. Anything else is
    answered (500) by `failures.Failures`."""

    async def domain(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.SlotblockError)
        return domain_error_response(exc, retry_after_seconds)

    async def invalid(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(400, validation_messages(exc.errors()))

    async def http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return http_error_response(exc)

    app.add_exception_handler(errors.SlotblockError, domain)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)
