"""Refused requests have their body read before the answer, as nginx's lingering close does.

The API refuses some requests before it reads their body (no write key, over a rate limit,
a Content-Length over the limit) or part way through it (too large). Uvicorn then closes
the connection with the body unread, and the kernel answers a client still sending with a
reset: clients that send the whole body before they read (Python's urllib and requests)
see "connection reset by peer" instead of the 4xx. So before an error answer starts, the
rest of the body is read and discarded, up to a bound in bytes and in time; past it, the
connection is closed as before.
"""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXPECT_CONTINUE = (b"expect", b"100-continue")


class DrainRefusedBodies:
    """Pure ASGI middleware; the bounds come from the app's settings at each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received_all = False
        received_any = False

        async def receive_noting_the_end() -> Message:
            nonlocal received_all, received_any
            message = await receive()
            received_any = True
            received_all = message["type"] != "http.request" or not message.get("more_body")
            return message

        async def send_after_draining(message: Message) -> None:
            nonlocal received_all
            if message["type"] == "http.response.start" and message["status"] >= 400:
                # A client waiting for "100 Continue" has sent no body: reading would ask
                # it for the body the answer refuses.
                waiting = EXPECT_CONTINUE in scope["headers"] and not received_any
                if not received_all and not waiting:
                    received_all = True
                    settings = scope["app"].state.services.settings
                    await drain(receive, settings.drain_bytes, settings.drain_seconds)
            await send(message)

        await self.app(scope, receive_noting_the_end, send_after_draining)


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
