"""The dependencies every route shares: the services, and the authenticated caller."""

from __future__ import annotations

import json
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from starlette.responses import Response

from slotblock.api import rate_limits
from slotblock.api.headers import caller_token, check_version
from slotblock.core.model import Principal
from slotblock.service.container import Services


async def services(request: Request) -> Services:
    """Async: a plain `def` dependency would run in FastAPI's thread pool on every request."""
    found: Services = request.app.state.services
    return found


async def caller(request: Request) -> Principal:
    """The principal of the `Authorization` and `Version` headers (401 otherwise)."""
    headers = request.headers

    async def authenticate() -> Principal:
        check_version(headers.get("version"))
        svc: Services = request.app.state.services
        return await svc.auth.authenticate(caller_token(headers.get("authorization")))

    return await rate_limits.limited(request, authenticate)


Caller = Annotated[Principal, Depends(caller)]
Svc = Annotated[Services, Depends(services)]


def json_response(body: Any, status_code: int = 200) -> Response:
    """Encode once, with orjson, and skip FastAPI's jsonable_encoder. What orjson refuses
    (an integer past 64 bits stored before such values were refused) is still answered,
    through the standard library's encoder: a stored value never breaks a read."""
    try:
        encoded = orjson.dumps(body)
    except TypeError:
        encoded = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
    return Response(encoded, status_code=status_code, media_type="application/json")
