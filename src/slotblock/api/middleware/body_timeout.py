"""A request body that stalls longer than the configured pause between its parts, or that
takes longer than the configured deadline to arrive in full (one byte every few seconds
never pauses long), is answered 408 in the official shape, and the app is told the client
has gone. A pure ASGI middleware (the server's own timeouts only cover idle connections);
the deadline runs from the moment the request's headers were complete."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotblock.api.errors import error_response


class BodyTimeout:
    def __init__(
        self, app: ASGIApp, *, seconds: float, deadline_seconds: float | None = None
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.deadline_seconds = deadline_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = None if self.deadline_seconds is None else loop.time() + self.deadline_seconds
        gave_up = False

        async def timed_receive() -> Message:
            nonlocal gave_up
            if gave_up:
                return {"type": "http.disconnect"}
            pause = self.seconds
            if deadline is not None:
                pause = min(pause, deadline - loop.time())
            try:
                async with asyncio.timeout(pause):  # no task of its own, as wait_for has
                    return await receive()
            except TimeoutError:
                gave_up = True
                await self._refuse(pause < self.seconds, scope, receive, send)
                return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            if not gave_up:
                await send(message)

        await self.app(scope, timed_receive, guarded_send)

    async def _refuse(self, too_long: bool, scope: Scope, receive: Receive, send: Send) -> None:
        if too_long:
            message = f"the request body took longer than {self.deadline_seconds:g} seconds"
        else:
            message = f"the request body stalled for more than {self.seconds:g} seconds"
        await error_response(408, message, {"Connection": "close"})(scope, receive, send)
