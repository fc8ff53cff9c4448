"""How request bodies are read: within a deadline, and, for refused requests, to their end.

A body must arrive within ``body_timeout_seconds`` of its headers, or the request is
answered 408 and its connection closed: clients trickling a body a byte a second do not
hold a request for ever (their headers have a deadline in server.py).

The API refuses some requests before it reads their body (no write key, over a rate limit,
a Content-Length over the limit) or part way through it (too large). Uvicorn would then
close the connection with the body unread, and the kernel answer a client still sending
with a reset: clients that send the whole body before they read (Python's urllib and
requests) would see "connection reset by peer" instead of the 4xx. So before an error
answer starts, the rest of the body is read and discarded, as nginx's lingering close
does, up to ``drain_bytes`` and ``drain_seconds``; past them, the connection is closed.
"""

import asyncio

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXPECT_CONTINUE = (b"expect", b"100-continue")


class BodyTooSlow(Exception):
    """The body did not arrive within its deadline."""


async def body_too_slow(_: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, 408, headers={"Connection": "close"})


class RequestBodies:
    """Pure ASGI middleware; its bounds come from the app's settings at each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.services.settings
        deadline = asyncio.get_running_loop().time() + settings.api.body_timeout_seconds
        received_all = False
        received_any = False

        async def receive_within_deadline() -> Message:
            nonlocal received_all, received_any
            if received_all:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                seconds = settings.api.body_timeout_seconds
                raise BodyTooSlow(f"the body did not arrive within {seconds} s") from None
            received_any = True
            received_all = message["type"] != "http.request" or not message.get("more_body")
            return message

        async def send_after_draining(message: Message) -> None:
            nonlocal received_all
            if message["type"] == "http.response.start" and message["status"] >= 400:
                # Reading on would wait for a client too slow already, or ask one waiting
                # for "100 Continue" for the body the answer refuses.
                too_slow = message["status"] == 408
                waiting = EXPECT_CONTINUE in scope["headers"] and not received_any
                if not (received_all or too_slow or waiting):
                    received_all = True
                    await drain(receive, settings.api.drain_bytes, settings.api.drain_seconds)
            await send(message)

        await self.app(scope, receive_within_deadline, send_after_draining)


async def drain(receive: Receive, most_bytes: int, most_seconds: float) -> None:
    """Read and discard the request's body, until its end or either bound."""
    read = 0
    try:
        async with asyncio.timeout(most_seconds):
            while read <= most_bytes:
                message = await receive()
                if message["type"] != "http.request":
                    return
                read += len(message.get("body", b""))
                if not message.get("more_body"):
                    return
    except TimeoutError:
        pass
