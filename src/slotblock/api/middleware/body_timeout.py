"""A request body that stalls longer than the configured pause between its parts is
answered 408 in the official shape, and the app is told the client has gone. A pure ASGI
middleware (the server's own timeouts only cover idle connections)."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotblock.api.errors import error_response


class BodyTimeout:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gave_up = False

        async def timed_receive() -> Message:
            nonlocal gave_up
            if gave_up:
                return {"type": "http.disconnect"}
            try:
                async with asyncio.timeout(self.seconds):  # no task of its own, as wait_for has
                    return await receive()
            except TimeoutError:
                gave_up = True
                message = f"the request body stalled for more than {self.seconds:g} seconds"
                await error_response(408, message, {"Connection": "close"})(scope, receive, send)
                return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            if not gave_up:
                await send(message)

        await self.app(scope, timed_receive, guarded_send)
