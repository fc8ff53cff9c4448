"""Small helpers shared by the unit and integration tests."""

import socket
import uuid


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def unique(prefix: str) -> str:
    """A name no earlier run used, so tests never see each other's topics or tables."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
