"""`/docs` without the internet: Swagger UI's assets come from the `swagger-ui-bundle-v2`
package and are served by slotblock (FastAPI's default page loads them from a CDN).

The OpenAPI document is completed for the people who read it: the bearer scheme (Swagger UI's
Authorize button), the `Version` header every operation needs, and each parameter described
in the official spec's words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from slotblock.api.headers import VERSIONS

ASSETS = "/docs/assets"
OPENAPI_URL = "/openapi.json"
DEFAULT_VERSION = "2021-07-28"
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "A private-integration token of the location (`slotblock token create`).",
}
VERSION_HEADER = {
    "name": "Version",
    "in": "header",
    "required": True,
    "description": "API Version",
    "schema": {"type": "string", "enum": sorted(VERSIONS), "default": DEFAULT_VERSION},
}
API_PATHS = ("/calendars", "/locations/")
_BLOCKED = "get-blocked-slots"
_EVENT_ID = (
    "Event Id or Instance id. For recurring appointments send masterEventId to modify "
    "original series."
)
# The official spec's parameter descriptions, by (operationId or "*", location, name).
DESCRIPTIONS: dict[tuple[str, str, str], str] = {
    ("*", "query", "locationId"): "Location Id",
    ("*", "path", "calendarId"): "Calendar Id",
    ("*", "path", "groupId"): "Group Id",
    ("*", "path", "eventId"): _EVENT_ID,
    ("get-location", "path", "locationId"): "Location Id",
    ("get-calendars", "query", "groupId"): "Group Id",
    ("get-calendars", "query", "showDrafted"): "Show drafted",
    (_BLOCKED, "query", "userId"): (
        "User Id - Owner of an appointment. Either of userId, groupId or calendarId is required"
    ),
    (_BLOCKED, "query", "calendarId"): "Either of calendarId, userId or groupId is required",
    (_BLOCKED, "query", "groupId"): "Either of groupId, calendarId or userId is required",
    (_BLOCKED, "query", "startTime"): "Start Time (in millis)",
    (_BLOCKED, "query", "endTime"): "End Time (in millis)",
}


def describe(parameter: dict[str, Any], operation_id: str) -> None:
    where, name = parameter.get("in", ""), parameter.get("name", "")
    text = DESCRIPTIONS.get((operation_id, where, name)) or DESCRIPTIONS.get(("*", where, name))
    if text and not parameter.get("description"):
        parameter["description"] = text


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Bearer auth, the Version header and the official descriptions on every API operation
    (every path under /calendars and /locations)."""
    document.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = BEARER
    for path, item in document.get("paths", {}).items():
        if not path.startswith(API_PATHS):
            continue
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            parameters = operation.setdefault("parameters", [])
            for parameter in parameters:
                describe(parameter, operation.get("operationId", ""))
            if not any(p.get("name") == "Version" for p in parameters):
                parameters.insert(0, dict(VERSION_HEADER))
            operation["security"] = [{"bearer": []}]
    return document


def without_prefix(document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """`document` without the operations under `prefix`, and without the schemas that only
    they referred to."""
    paths = {p: item for p, item in document.get("paths", {}).items() if not p.startswith(prefix)}
    schemas = document.get("components", {}).get("schemas", {})
    kept: set[str] = set()
    todo = _refs(paths)
    while todo:
        name = todo.pop()
        if name not in kept and name in schemas:
            kept.add(name)
            todo |= _refs(schemas[name])
    components = {**document.get("components", {})}
    if schemas:
        components["schemas"] = {n: s for n, s in schemas.items() if n in kept}
    return {**document, "paths": paths, "components": components}


_SCHEMA_REF = "#/components/schemas/"


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {str(node["$ref"]).removeprefix(_SCHEMA_REF)} if "$ref" in node else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node)) if node else set()
    return set()


@dataclass
class _Served:
    """What the document's endpoints need of their app (kept in `app.state.docs`: endpoints
    that are closures over an app would keep every app ever made alive in FastAPI's
    process-wide caches of endpoint callables)."""

    prefix: str
    is_on: Callable[[], Awaitable[bool]]
    public: dict[str, Any] | None = None


def install(app: FastAPI, hidden_while_off: tuple[str, Callable[[], Awaitable[bool]]]) -> None:
    """Serve `/docs` and its assets, and `/openapi.json` completed once; the operations under
    `hidden_while_off`'s prefix are left out of the served document while its check says
    they are off (they answer 404 then)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.docs = _Served(*hidden_while_off)
    app.add_api_route(OPENAPI_URL, served_openapi, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")
    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)


async def served_openapi(request: Request) -> JSONResponse:
    app = request.app
    served: _Served = app.state.docs
    if await served.is_on():
        return JSONResponse(app.openapi())
    if served.public is None:
        served.public = without_prefix(app.openapi(), served.prefix)
    return JSONResponse(served.public)


async def docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}{OPENAPI_URL}",
        title=f"{request.app.title} — docs",
        swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"persistAuthorization": True, "tryItOutEnabled": True},
    )
