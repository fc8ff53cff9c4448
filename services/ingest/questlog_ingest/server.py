"""The API's server: Uvicorn, with a deadline on each request's headers, which it lacks.

Uvicorn waits for a request's headers as long as the client takes, so clients trickling
them a byte a second would each hold a connection for ever. Here a request's headers must
arrive within ``header_timeout_seconds`` of its first byte (or of the connection, for its
first request), or the connection is answered 408 and closed. The body has its deadline
in the app (request_bodies.py). Run:

python -m questlog_ingest.server --host 127.0.0.1 --port 8000
"""

import argparse
import asyncio

import uvicorn
from questlog_settings import get_api_settings
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Seconds a stopping server lets open requests finish (the chart's preStop and grace period
# are set around it).
GRACEFUL_SHUTDOWN_SECONDS = 10
TOO_SLOW = b"the request's headers came too slowly\n"
TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(TOO_SLOW), TOO_SLOW)
)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol, closing connections whose headers come too slowly."""

    header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.await_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.await_headers()

    def on_headers_complete(self) -> None:
        self.stop_awaiting_headers()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_awaiting_headers()
        super().connection_lost(exc)

    def await_headers(self) -> None:
        if self.header_deadline is None:
            seconds = get_api_settings().api.header_timeout_seconds
            self.header_deadline = self.loop.call_later(seconds, self.headers_too_slow)

    def stop_awaiting_headers(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def headers_too_slow(self) -> None:
        self.header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(TIMED_OUT)
            self.transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(
        "questlog_ingest.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        http=HeaderDeadlineProtocol,
        access_log=False,
        # Off: Uvicorn would believe X-Forwarded-For from any peer on 127.0.0.1; the API
        # reads it only from its settings' trusted_proxies (client_address.py).
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


if __name__ == "__main__":
    main()
