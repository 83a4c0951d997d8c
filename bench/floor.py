"""The floor: the same HTTP stack (uvicorn, FastAPI, slotblock's middleware) answering the
same path with the same response bytes from memory — no token lookup, no database, no
expansion. What no implementation of the endpoint could beat.

    python bench/floor.py PORT BODY_FILE [--edge] [--observed]

--edge: served with slotblock's uvicorn options (its HTTP protocol with the per-client
connection limit and header deadline, the concurrency limit, no server header), as
`slotblock serve` serves. --observed: behind slotblock's outermost middleware (request id,
metrics, the access log in JSON lines on stderr), as `slotblock serve` logs. Both are for
bench/edge.py, which measures what each costs; the floor of `make bench` takes neither.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.responses import Response

from slotblock.api.middleware.size_limits import RequestLimits


def app_for(body: bytes, *, observed: bool = False) -> FastAPI:
    app = FastAPI()

    @app.get("/calendars/blocked-slots")
    async def blocked_slots() -> Response:
        return Response(body, media_type="application/json")

    app.add_middleware(RequestLimits, max_body_bytes=1_048_576, max_header_bytes=16_384)
    if observed:
        from slotblock.api.middleware.observability import Observability

        app.add_middleware(Observability, access_log=True)
    return app


def main() -> None:
    port, body_file = int(sys.argv[1]), Path(sys.argv[2])
    observed = "--observed" in sys.argv
    options: dict[str, Any] = {"log_level": "warning", "access_log": False}
    if "--edge" in sys.argv:
        from slotblock.api.server import uvicorn_options
        from slotblock.config import Settings

        options.update(uvicorn_options(Settings()))
    if observed:
        from slotblock import logs

        logs.configure("json")
    app = app_for(body_file.read_bytes(), observed=observed)
    uvicorn.run(app, host="127.0.0.1", port=port, **options)


if __name__ == "__main__":
    main()
