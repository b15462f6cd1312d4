"""The SSRF guard: webhook targets must be globally routable, unless exactly allow-listed.

Pure checks (`is_public`, `check_url`, `parse_allow`) plus `resolve`, which resolves a host once
and returns the one checked address the caller must connect to (so a second DNS answer cannot
differ from the one that was checked).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> the addresses it resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class Blocked(Exception):
    """The target may not be contacted: an address is not public, or the host does not resolve."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# Everything here is refused even where Python's `is_global` would say otherwise (multicast is
# "global" to it) -- a deny list kept explicit so a reader can audit it against RFC 6890.
_V4_DENIED = _nets(
    "0.0.0.0/8",        # "this network", incl. 0.0.0.0
    "10.0.0.0/8",       # private
    "100.64.0.0/10",    # CGNAT shared address space
    "127.0.0.0/8",      # loopback
    "169.254.0.0/16",   # link-local, incl. the cloud metadata address 169.254.169.254
    "172.16.0.0/12",    # private
    "192.0.0.0/24",     # IETF protocol assignments
    "192.0.2.0/24",     # TEST-NET-1
    "192.88.99.0/24",   # 6to4 relay anycast (deprecated)
    "192.168.0.0/16",   # private
    "198.18.0.0/15",    # benchmarking
    "198.51.100.0/24",  # TEST-NET-2
    "203.0.113.0/24",   # TEST-NET-3
    "224.0.0.0/4",      # multicast
    "240.0.0.0/4",      # reserved, incl. broadcast 255.255.255.255
)
_V6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_V6_DENIED = _nets(
    "2001::/23",        # IETF protocol assignments, incl. Teredo 2001::/32 and ORCHID
    "2001:db8::/32",    # documentation
    "3fff::/20",        # documentation
)
_V6_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_V6_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _v4_public(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not any(ip in net for net in _V4_DENIED)


def is_public(ip: str | IPAddress) -> bool:
    """Whether an address is globally routable unicast, the only kind a webhook may reach.

    IPv6 forms that carry an IPv4 address are judged by it: IPv4-mapped `::ffff:a.b.c.d`
    (whose `is_loopback` Python reports as false), 6to4 `2002:AABB:CCDD::` and NAT64
    `64:ff9b::a.b.c.d`. Deprecated IPv4-compatible `::a.b.c.d` and every other IPv6 address
    outside global unicast `2000::/3` are refused.
    """
    try:
        address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_public(address)
    if address.ipv4_mapped is not None:
        return _v4_public(address.ipv4_mapped)
    if address in _V6_NAT64:
        return _v4_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        return _v4_public(address.sixtofour)
    return (
        address in _V6_GLOBAL_UNICAST
        and address.is_global
        and not address.is_multicast
        and not any(address in net for net in _V6_DENIED)
    )


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host string denotes under `inet_aton` rules, which `getaddrinfo`
    follows: 1-4 dot-separated parts, each decimal, octal (`0` prefix) or hex (`0x`), the last
    part filling the remaining bytes -- so `2130706433`, `0x7f.1`, `017700000001` and `127.1`
    all mean 127.0.0.1. None when it is not such a literal."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        lowered = part.lower()
        try:
            if lowered.startswith("0x"):
                value = int(lowered[2:] or "0", 16)
            elif len(lowered) > 1 and lowered.startswith("0"):
                value = int(lowered[1:], 8)
            elif lowered.isdigit():
                value = int(lowered, 10)
            else:
                return None
        except ValueError:
            return None
        values.append(value)
    *head, last = values
    if any(value > 0xFF for value in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host names literally (`[v6]`, dotted or inet_aton forms), else None."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        return parse_ipv4_loose(bare.rstrip("."))


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class AllowList:
    """Hosts (exact names) and networks exempt from the guard: exactly these, nothing else."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    def allows_host(self, host: str) -> bool:
        return _normal_host(host) in self.hosts

    def allows_ip(self, ip: str | IPAddress) -> bool:
        address = _unmapped(ipaddress.ip_address(ip) if isinstance(ip, str) else ip)
        return any(address.version == net.version and address in net for net in self.networks)


def parse_allow(setting: str | Iterable[str]) -> AllowList:
    """`WEBHOOK_ALLOW_HOSTS`: comma-separated host names, addresses and CIDRs."""
    entries = setting.split(",") if isinstance(setting, str) else list(setting)
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        name = _normal_host(entry)
        if not name:
            continue
        try:
            networks.append(ipaddress.ip_network(name, strict=False))
        except ValueError:
            hosts.add(name)
    return AllowList(frozenset(hosts), tuple(networks))


def _check_address(address: IPAddress, allow: AllowList) -> str | None:
    if allow.allows_ip(address) or is_public(address):
        return None
    return f"{_unmapped(address)} is not a public address"


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (what a plain connect would use)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve(host: str, port: int, allow: AllowList, resolver: Resolver | None = None) -> str:
    """Resolve `host` once and return the checked address to connect to.

    Every address it resolves to must be public (or inside an allow-listed network) unless the
    host name itself is allow-listed; otherwise `Blocked`. Literal addresses, including
    `inet_aton` forms like `2130706433`, are judged as the address they denote; the resolver's
    answers are checked too, since `getaddrinfo` itself accepts such forms."""
    literal = literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            answers = await (resolver or system_resolver)(_normal_host(host), port)
        except (OSError, UnicodeError) as exc:
            raise Blocked(f"cannot resolve {host}: {exc}") from exc
        addresses = []
        for answer in answers:
            try:
                addresses.append(ipaddress.ip_address(answer))
            except ValueError as exc:
                raise Blocked(f"{host} resolved to an unreadable address {answer!r}") from exc
        if not addresses:
            raise Blocked(f"{host} has no address")
    if not allow.allows_host(host):
        for address in addresses:
            if reason := _check_address(address, allow):
                raise Blocked(f"{host}: {reason}" if literal is None else reason)
    return str(_unmapped(addresses[0]))


def check_url(url: str, allow: AllowList, allow_http: bool) -> str | None:
    """Subscribe-time check of a webhook URL; the reason it is refused, or None.

    Scheme https (http only when `allow_http`), a host, no credentials, and a literal address
    must be public or allow-listed. Host names are resolved and checked at delivery time."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return f"not a valid URL: {exc}"
    schemes = ("https", "http") if allow_http else ("https",)
    if parsed.scheme not in schemes:
        return "the URL must use https" if not allow_http else "the URL must use http or https"
    if not parsed.host:
        return "the URL has no host"
    if parsed.userinfo:
        return "the URL must not contain credentials"
    if parsed.fragment:
        return "the URL must not contain a fragment"
    literal = literal_address(parsed.host)
    if literal is not None and not allow.allows_host(parsed.host):
        return _check_address(literal, allow)
    return None
