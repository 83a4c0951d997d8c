"""Request size limits, enforced before any routing: headers (431) and body (413), each
answered with the official error body. A pure ASGI middleware, so a refused request costs
nothing further and a streamed body is counted as it arrives."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotblock.api.errors import error_response


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_headers = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if sum(len(name) + len(value) + 4 for name, value in headers) > self.max_headers:
            message = f"request headers are larger than {self.max_headers} bytes"
            await error_response(431, message)(scope, receive, send)
            return
        declared = dict(headers).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_body:
            await self._too_large(scope, receive, send)
            return
        seen = 0
        refused = False

        async def counted_receive() -> Message:
            # Past the limit: answer 413 now, tell the app the client has gone, drop its reply.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                refused = True
                await self._too_large(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted_receive, guarded_send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body is larger than {self.max_body} bytes"
        await error_response(413, message)(scope, receive, send)
