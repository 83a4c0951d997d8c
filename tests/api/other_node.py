"""Writes from another process, as another node would make them.

`python -m tests.api.other_node URL TOKEN REQUESTS` sends each request of the JSON list
`[[method, path, body], …]` to an app of its own over the same database, and prints the
status codes (one line, JSON).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx

from slotblock.api.app import create_app
from slotblock.config import Settings


async def send(url: str, token: str, requests: list[list[Any]]) -> list[int]:
    app = create_app(Settings(database_url=url, pool_size=1))
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    transport = httpx.ASGITransport(app=app)
    statuses = []
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://node-b") as client:
            for method, path, body in requests:
                response = await client.request(method, path, json=body, headers=headers)
                statuses.append(response.status_code)
    finally:
        await app.state.services.store.dispose()
    return statuses


if __name__ == "__main__":
    url, token, requests = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    print(json.dumps(asyncio.run(send(url, token, requests))))
