"""The floor: the same HTTP stack (uvicorn, FastAPI, slotblock's middleware) answering the
same path with the same response bytes from memory — no token lookup, no database, no
expansion. What no implementation of the endpoint could beat.

    python bench/floor.py PORT BODY_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from starlette.responses import Response

from slotblock.api.middleware.size_limits import RequestLimits


def app_for(body: bytes) -> FastAPI:
    app = FastAPI()

    @app.get("/calendars/blocked-slots")
    async def blocked_slots() -> Response:
        return Response(body, media_type="application/json")

    app.add_middleware(RequestLimits, max_body_bytes=1_048_576, max_header_bytes=16_384)
    return app


if __name__ == "__main__":
    port, body_file = int(sys.argv[1]), Path(sys.argv[2])
    uvicorn.run(
        app_for(body_file.read_bytes()),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
