"""Email domains (app.core.domains): normalisation and the free-mail / disposable check. Pure."""

from __future__ import annotations

import pytest

from app.core.domains import (
    InvalidDomain,
    email_domain,
    is_public_mail_domain,
    normalize_domain,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("acme.example", "acme.example"),
    ("ACME.Example", "acme.example"),
    ("  acme.example  ", "acme.example"),
    ("@acme.example", "acme.example"),
    ("acme.example.", "acme.example"),
    ("@Support.ACME.example.", "support.acme.example"),
    ("Bücher.Example", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("münchen.de", "xn--mnchen-3ya.de"),
    ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
    ("ａｃｍｅ.example", "acme.example"),  # full-width letters fold to ASCII
    ("a-b.c-d.example", "a-b.c-d.example"),
])
def test_normalize_domain_lowercases_encodes_idna_and_drops_at_and_trailing_dot(raw, expected):
    assert normalize_domain(raw) == expected


def test_normalize_domain_is_idempotent():
    once = normalize_domain("@Bücher.Example.")
    assert normalize_domain(once) == once


@pytest.mark.parametrize("raw", [
    "", " ", "@", ".", "..",
    "localhost",              # a single label is not a domain of an email address
    "1.2.3.4",                # an address
    "acme.123",               # all-numeric top-level label
    "a..example",             # empty label
    "-acme.example",          # leading hyphen
    "acme-.example",          # trailing hyphen
    "ac_me.example",          # underscore
    "acme example.com",       # space
    "acme.example/path",      # slash
    "ana@acme.example",       # an address, not a domain
    "@@acme.example",
    "x" * 64 + ".example",    # label over 63 characters
    ".".join(["abcdefghij"] * 25) + ".example",  # over 253 characters
    "xn--a.example",          # broken punycode
])
def test_normalize_domain_rejects_what_is_not_a_domain_name(raw):
    with pytest.raises(InvalidDomain):
        normalize_domain(raw)


def test_invalid_domain_is_a_value_error_so_pydantic_reports_it_as_422():
    assert issubclass(InvalidDomain, ValueError)


@pytest.mark.parametrize(("email", "expected"), [
    ("ana@acme.example", "acme.example"),
    ("Ana@ACME.Example", "acme.example"),
    ("ana@Bücher.example", "xn--bcher-kva.example"),
    ("ana@support.acme.example", "support.acme.example"),
])
def test_email_domain_is_the_normalised_part_after_the_at_sign(email, expected):
    assert email_domain(email) == expected


@pytest.mark.parametrize("domain", [
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com",
    "protonmail.com",
])
def test_free_mail_domains_are_public(domain):
    assert is_public_mail_domain(domain)


@pytest.mark.parametrize("domain", ["mailinator.com", "guerrillamail.com", "10minutemail.com"])
def test_disposable_domains_are_public(domain):
    assert is_public_mail_domain(domain)


@pytest.mark.parametrize("domain", ["eu.mail.gmail.com", "inbox.mailinator.com"])
def test_subdomains_of_public_mail_domains_are_public(domain):
    assert is_public_mail_domain(domain)


@pytest.mark.parametrize("domain", [
    "acme.example", "support.acme.example", "notgmail.com", "gmail.com.acme.example",
    "xn--bcher-kva.example", "com",
])
def test_company_domains_are_not_public(domain):
    assert not is_public_mail_domain(domain)
