"""The client's address that lands with each event (``client_ip``): the peer's, or the one
a trusted proxy forwarded, truncated to a network prefix unless configured whole.

X-Forwarded-For is a list anyone can write to: only the hops our own proxies appended can be
believed. So it is read from the right, past the trusted proxies, and the first address that
is not one of them is the client's; from a peer that is not a trusted proxy it is never read.
"""

from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from questlog_settings import ApiSettings
from starlette.requests import Request

Address = IPv4Address | IPv6Address


def parsed(hop: str) -> Address | None:
    """An address as peers and proxies write it: bare, ``1.2.3.4:port`` or ``[::1]:port``."""
    hop = hop.strip()
    if hop.startswith("["):
        hop = hop[1 : hop.find("]")]
    elif hop.count(":") == 1:
        hop = hop.split(":")[0]
    try:
        return ip_address(hop)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def truncated(address: Address, v4_prefix: int, v6_prefix: int) -> str:
    prefix = v4_prefix if address.version == 4 else v6_prefix
    return str(ip_network(f"{address}/{prefix}", strict=False).network_address)


def client_address(request: Request, settings: ApiSettings) -> Address | None:
    """The client's whole address; None when it cannot be known (no peer address, or a
    trusted proxy forwarded something that is not an address)."""
    address = parsed(request.client.host) if request.client else None
    if settings.api.trusted_proxies:
        hops = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
        forwarded = [hop for hop in reversed(hops) if hop.strip()]
        while address is not None and forwarded and trusted(address, settings):
            address = parsed(forwarded.pop(0))
    return address


def client_ip(address: Address | None, settings: ApiSettings) -> str | None:
    """The address as stored: its network, unless configured whole."""
    if address is None:
        return None
    return truncated(address, settings.api.client_ip_prefix_v4, settings.api.client_ip_prefix_v6)


def trusted(address: Address, settings: ApiSettings) -> bool:
    return any(address in network for network in settings.api.trusted_proxies)
