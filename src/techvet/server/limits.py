"""Request bodies counted as they arrive: an upload over the cap is refused (413) whatever length
it declared, and with ``Transfer-Encoding: chunked``, before it fills a temporary file.

A pure ASGI middleware, as the check must sit on ``receive`` itself: the form parser reads the
whole body before any handler (or the declared ``Content-Length``) is consulted.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """``limit_for(path, method)`` bytes at most per request body.

    Past the limit the application is told the client went away (so its parser stops reading and
    writing), whatever it answers is dropped, and the client gets 413: FastAPI turns any error raised
    while it parses a body into its own 400, so raising would not reach the client as a 413."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"], scope["method"])
        seen = 0
        over = False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                over = True
                return {"type": "http.disconnect"}
            return message

        async def unless_over(message: Message) -> None:
            if not over:
                await send(message)

        await self.app(scope, counted, unless_over)
        if over:
            size = f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit} bytes"
            body = json.dumps({"error": f"request body over the {size} limit"}).encode()
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
