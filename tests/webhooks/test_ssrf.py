"""The SSRF guard: every non-public address class is refused, in every spelling, after DNS;
`WEBHOOK_ALLOW_HOSTS` exempts exactly what it lists."""

from __future__ import annotations

import pytest

from app.webhooks import ssrf
from app.webhooks.ssrf import Blocked, check_url, is_public, parse_allow, resolve

NOTHING = parse_allow("")

REFUSED = {
    "private 10/8": "10.0.0.1",
    "private 172.16/12": "172.16.5.4",
    "private 172.31": "172.31.255.254",
    "private 192.168/16": "192.168.1.1",
    "loopback 127/8": "127.0.0.1",
    "loopback 127.255": "127.255.255.254",
    "ipv6 loopback": "::1",
    "ipv6 link-local": "fe80::1",
    "ipv6 link-local with zone": "fe80::1%eth0",
    "ipv6 unique local fc00::/7": "fc00::1",
    "ipv6 unique local fd": "fd12:3456:789a::1",
    "ipv6 site-local": "fec0::1",
    "mapped loopback": "::ffff:127.0.0.1",
    "mapped private": "::ffff:10.0.0.1",
    "mapped metadata": "::ffff:169.254.169.254",
    "ipv4-compatible loopback": "::127.0.0.1",
    "6to4 of private": "2002:0a00:0001::1",
    "nat64 of loopback": "64:ff9b::127.0.0.1",
    "nat64 local-use": "64:ff9b:1::a00:1",
    "teredo": "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "cgnat 100.64/10": "100.64.0.1",
    "cgnat top": "100.127.255.254",
    "cloud metadata": "169.254.169.254",
    "link-local 169.254/16": "169.254.1.1",
    "unspecified 0.0.0.0": "0.0.0.0",
    "this network 0/8": "0.1.2.3",
    "ipv6 unspecified": "::",
    "broadcast": "255.255.255.255",
    "reserved 240/4": "240.0.0.1",
    "multicast 224/4": "224.0.0.1",
    "multicast 239": "239.255.255.250",
    "ipv6 multicast": "ff02::1",
    "ipv6 global multicast": "ff0e::1",
    "documentation TEST-NET-1": "192.0.2.10",
    "documentation TEST-NET-2": "198.51.100.10",
    "documentation TEST-NET-3": "203.0.113.10",
    "ipv6 documentation": "2001:db8::1",
    "benchmarking 198.18/15": "198.18.0.1",
    "ietf protocol 192.0.0/24": "192.0.0.8",
    "ipv6 discard": "100::1",
}

PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001::200e",
          "::ffff:8.8.8.8", "2002:0808:0808::1", "64:ff9b::808:808", "100.128.0.1",
          "172.32.0.1", "192.169.0.1"]


@pytest.mark.parametrize("address", REFUSED.values(), ids=REFUSED.keys())
def test_non_public_address_is_refused(address):
    assert is_public(address) is False


@pytest.mark.parametrize("address", PUBLIC)
def test_globally_routable_address_is_public(address):
    assert is_public(address) is True


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "0x7f.1", "0x7F.0.0.1",
                                  "017700000001", "0177.0.0.1", "127.1", "127.0.1"])
def test_loose_ipv4_spellings_mean_loopback(host):
    assert str(ssrf.parse_ipv4_loose(host)) == "127.0.0.1"


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "08", "1.256.0.0", "4294967296",
                                  "0x1g", "", "1..2"])
def test_non_addresses_are_not_read_as_ipv4(host):
    assert ssrf.parse_ipv4_loose(host) is None


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "017700000001", "127.1", "0",
                                  "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
                                  "169.254.169.254", "0xa9fea9fe"])
async def test_resolve_refuses_literal_addresses_in_every_spelling(host):
    with pytest.raises(Blocked, match="not a public address"):
        await resolve(host, 443, NOTHING)


async def test_resolve_refuses_a_real_hostname_resolving_to_loopback():
    with pytest.raises(Blocked) as refused:
        await resolve("localhost", 443, NOTHING)
    assert refused.value.reason in {"localhost: 127.0.0.1 is not a public address",
                                    "localhost: ::1 is not a public address"}


def _resolver(*answers: str):
    async def resolver(host: str, port: int) -> list[str]:
        return list(answers)
    return resolver


@pytest.mark.parametrize("answers", [("10.0.0.5",), ("93.184.216.34", "10.0.0.5"),
                                     ("::ffff:127.0.0.1",), ("2606:4700::1", "fd00::1"),
                                     ("169.254.169.254",)])
async def test_resolve_refuses_a_hostname_if_any_answer_is_not_public(answers):
    with pytest.raises(Blocked):
        await resolve("hooks.example.com", 443, NOTHING, resolver=_resolver(*answers))


async def test_resolve_returns_the_checked_public_address_to_connect_to():
    found = await resolve("hooks.example.com", 443, NOTHING,
                          resolver=_resolver("93.184.216.34", "2606:2800:220:1::1"))
    assert found == "93.184.216.34"


async def test_resolve_returns_a_mapped_address_as_plain_ipv4():
    assert await resolve("hooks.example.com", 443, NOTHING,
                         resolver=_resolver("::ffff:8.8.8.8")) == "8.8.8.8"


async def test_unresolvable_host_is_blocked():
    with pytest.raises(Blocked, match="cannot resolve"):
        await resolve("no-such-host.invalid", 443, NOTHING)
    with pytest.raises(Blocked, match="has no address"):
        await resolve("hooks.example.com", 443, NOTHING, resolver=_resolver())


# --- WEBHOOK_ALLOW_HOSTS --------------------------------------------------------------------

def test_parse_allow_splits_hosts_and_networks():
    allow = parse_allow(" 127.0.0.1, Receiver.Test. ,10.1.0.0/16,[::1],, ")
    assert allow.hosts == frozenset({"receiver.test"})
    assert [str(n) for n in allow.networks] == ["127.0.0.1/32", "10.1.0.0/16", "::1/128"]


async def test_allow_listed_hostname_passes_and_nothing_else_does():
    allow = parse_allow("localhost")
    assert await resolve("localhost", 8080, allow) == "127.0.0.1"
    assert await resolve("LOCALHOST.", 8080, allow) == "127.0.0.1"
    for host in ("127.0.0.1", "2130706433", "sub.localhost", "[::1]"):
        with pytest.raises(Blocked):
            await resolve(host, 8080, allow, resolver=_resolver("127.0.0.1"))


async def test_allow_listed_address_passes_and_its_neighbours_do_not():
    allow = parse_allow("127.0.0.1")
    assert await resolve("127.0.0.1", 8080, allow) == "127.0.0.1"
    assert await resolve("localhost", 8080, allow) == "127.0.0.1"
    assert await resolve("[::ffff:127.0.0.1]", 8080, allow) == "127.0.0.1"
    for host in ("127.0.0.2", "10.0.0.1", "[::1]"):
        with pytest.raises(Blocked):
            await resolve(host, 8080, allow)


async def test_allow_listed_cidr_passes_its_addresses_only():
    allow = parse_allow("10.1.0.0/16")
    assert await resolve("10.1.200.3", 443, allow) == "10.1.200.3"
    assert await resolve("internal.corp", 443, allow, resolver=_resolver("10.1.0.9")) == "10.1.0.9"
    with pytest.raises(Blocked):
        await resolve("internal.corp", 443, allow, resolver=_resolver("10.1.0.9", "10.2.0.1"))
    with pytest.raises(Blocked):
        await resolve("10.2.0.1", 443, allow)


async def test_allow_listed_hostname_does_not_exempt_another_name_with_the_same_address():
    allow = parse_allow("receiver.test")
    assert await resolve("receiver.test", 443, allow, resolver=_resolver("10.0.0.7")) == "10.0.0.7"
    with pytest.raises(Blocked):
        await resolve("other.test", 443, allow, resolver=_resolver("10.0.0.7"))


# --- subscribe-time URL check ---------------------------------------------------------------

@pytest.mark.parametrize(("url", "reason"), [
    ("http://hooks.example.com/x", "the URL must use https"),
    ("ftp://hooks.example.com/x", "the URL must use https"),
    ("hooks.example.com/x", "the URL must use https"),
    ("https:///x", "the URL has no host"),
    ("https://user:pass@hooks.example.com/x", "the URL must not contain credentials"),
    ("https://hooks.example.com/x#frag", "the URL must not contain a fragment"),
    ("https://10.0.0.1/x", "10.0.0.1 is not a public address"),
    ("https://2130706433/x", "127.0.0.1 is not a public address"),
    ("https://0x7f.1/x", "127.0.0.1 is not a public address"),
    ("https://[::ffff:127.0.0.1]/x", "127.0.0.1 is not a public address"),
    ("https://[fe80::1]:8443/x", "fe80::1 is not a public address"),
    ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is not a public address"),
])
def test_check_url_refuses(url, reason):
    assert check_url(url, NOTHING, allow_http=False) == reason


def test_check_url_accepts_https_names_and_public_addresses_without_resolving():
    for url in ("https://hooks.example.com/x?a=1", "https://8.8.8.8:8443/",
                "https://no-such-host.invalid/"):
        assert check_url(url, NOTHING, allow_http=False) is None


def test_check_url_accepts_http_only_when_allowed():
    assert check_url("http://hooks.example.com/", NOTHING, allow_http=True) is None
    assert check_url("ftp://hooks.example.com/", NOTHING, allow_http=True) == (
        "the URL must use http or https")


def test_check_url_accepts_allow_listed_literal_addresses_only():
    allow = parse_allow("127.0.0.1,receiver.test")
    assert check_url("https://127.0.0.1:9000/", allow, allow_http=False) is None
    assert check_url("https://127.0.0.2:9000/", allow, allow_http=False) is not None
