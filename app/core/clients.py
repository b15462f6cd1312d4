"""Who is on the other end: the client's address, taken from forwarding headers only when the
peer is one of the TRUSTED_PROXIES.

`create_app` installs uvicorn's proxy-headers middleware (what uvicorn's `forwarded_allow_ips`
sets up) for exactly these, so the app decides whom it trusts whatever server runs it;
`switchboard serve` and the dev server turn uvicorn's own off (it trusts 127.0.0.1 by
default). Everything that needs the address (rate limits, a form's IP digest) reads
`client_ip`.
"""

from __future__ import annotations

from starlette.requests import Request


def parse_proxies(value: str) -> list[str]:
    """`TRUSTED_PROXIES`: comma-separated addresses or CIDRs (`10.0.0.0/8`); empty: none."""
    return [item.strip() for item in value.split(",") if item.strip()]


def client_ip(request: Request) -> str:
    """The peer address, or the client a trusted proxy named."""
    return request.client.host if request.client else "unknown"
