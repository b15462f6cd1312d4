"""Pure units of authentication: passwords, JWTs, API token secrets, scopes. No database."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from app.core.errors import Forbidden, NotFound
from app.core.scope import AGENT_SCOPES, DeskScope, Principal, Scope, grants
from app.core.security import (
    TOKEN_PREFIX,
    create_access_token,
    decode_access_token,
    hash_password,
    hash_token,
    new_api_token,
    verify_password,
)
from app.models import Desk, DeskMember
from tests.conftest import TEST_SECRET

OTHER_SECRET = "another-secret-key-that-is-long-enough-for-hs256-987654"
CONTRACT_SCOPES = (
    "desks:read desks:write tickets:read tickets:write customers:read customers:write "
    "organizations:read organizations:write forms:read forms:write rules:read rules:write "
    "webhooks:read webhooks:write events:read inbound admin"
).split()


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _sql(stmt) -> str:
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


# Passwords

def test_password_hash_verifies_only_the_right_password():
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored
    assert verify_password(stored, "correct horse battery") is True
    assert verify_password(stored, "correct horse batterY") is False
    assert verify_password(stored, "") is False


def test_password_hash_is_salted():
    assert hash_password("same password") != hash_password("same password")


def test_user_without_password_hash_never_verifies():
    # The dummy hash is checked for timing; it must not let its own password through.
    assert verify_password(None, "switchboard-dummy-password") is False
    assert verify_password(None, "") is False


def test_corrupt_password_hash_does_not_verify_or_raise():
    assert verify_password("not-an-argon2-hash", "anything") is False


# Staff JWTs

def test_jwt_round_trip_returns_the_user_id():
    token = create_access_token(42, TEST_SECRET, 3600)
    assert decode_access_token(token, TEST_SECRET).user_id == 42


def test_jwt_carries_issuer_subject_and_expiry():
    token = create_access_token(7, TEST_SECRET, 600, now=1_900_000_000)
    claims = jwt.decode(token, OctKey.import_key(TEST_SECRET), algorithms=["HS256"]).claims
    assert claims == {"sub": "7", "iss": "switchboard", "iat": 1_900_000_000,
                      "exp": 1_900_000_600}


def test_expired_jwt_is_refused():
    token = create_access_token(42, TEST_SECRET, 3600, now=time.time() - 10_000)
    assert decode_access_token(token, TEST_SECRET) is None


def test_jwt_is_valid_until_its_expiry_and_not_after():
    token = create_access_token(42, TEST_SECRET, 600, now=1_900_000_000)
    assert decode_access_token(token, TEST_SECRET, now=1_900_000_599).user_id == 42
    assert decode_access_token(token, TEST_SECRET, now=1_900_000_602) is None


def test_jwt_signed_with_another_secret_is_refused():
    token = create_access_token(42, OTHER_SECRET, 3600)
    assert decode_access_token(token, TEST_SECRET) is None


def test_jwt_with_tampered_subject_is_refused():
    header, _, signature = create_access_token(42, TEST_SECRET, 3600).split(".")
    now = int(time.time())
    forged = _b64({"sub": "1", "iss": "switchboard", "iat": now, "exp": now + 3600})
    assert decode_access_token(f"{header}.{forged}.{signature}", TEST_SECRET) is None


def test_jwt_with_tampered_signature_is_refused():
    token = create_access_token(42, TEST_SECRET, 3600)
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert decode_access_token(f"{head}.{payload}.{flipped}", TEST_SECRET) is None


def test_unsigned_jwt_is_refused():
    now = int(time.time())
    claims = {"sub": "42", "iss": "switchboard", "iat": now, "exp": now + 3600}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert decode_access_token(unsigned, TEST_SECRET) is None


@pytest.mark.parametrize("claims", [
    pytest.param({"sub": "42", "iss": "someone-else"}, id="foreign issuer"),
    pytest.param({"sub": "42"}, id="no issuer"),
    pytest.param({"iss": "switchboard"}, id="no subject"),
    pytest.param({"sub": "not-a-number", "iss": "switchboard"}, id="non-numeric subject"),
])
def test_jwt_with_wrong_claims_is_refused(claims):
    now = int(time.time())
    token = jwt.encode({"alg": "HS256"}, {**claims, "iat": now, "exp": now + 3600},
                       OctKey.import_key(TEST_SECRET))
    assert decode_access_token(token, TEST_SECRET) is None


def test_jwt_without_expiry_is_refused():
    token = jwt.encode({"alg": "HS256"}, {"sub": "42", "iss": "switchboard"},
                       OctKey.import_key(TEST_SECRET))
    assert decode_access_token(token, TEST_SECRET) is None


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "...", "é.é.é", "x" * 5000])
def test_garbage_jwt_is_refused_without_raising(garbage):
    assert decode_access_token(garbage, TEST_SECRET) is None


# API token secrets

def test_new_api_token_has_prefix_and_32_random_bytes():
    new = new_api_token()
    assert new.secret.startswith(TOKEN_PREFIX)
    body = new.secret.removeprefix(TOKEN_PREFIX)
    assert len(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) >= 32
    assert new.secret.startswith(new.prefix)
    assert len(new.prefix) < len(new.secret) // 4  # recognisable, never enough to guess


def test_new_api_tokens_are_unique():
    assert len({new_api_token().secret for _ in range(50)}) == 50


def test_api_token_digest_is_sha256_of_the_secret():
    new = new_api_token()
    assert new.digest == hashlib.sha256(new.secret.encode()).digest()
    assert hash_token(new.secret) == new.digest
    assert len(new.digest) == 32


# Scopes

def test_scope_names_are_exactly_the_contract():
    assert sorted(s.value for s in Scope) == sorted(CONTRACT_SCOPES)


def test_agent_scopes_are_everything_but_admin():
    assert AGENT_SCOPES == frozenset(CONTRACT_SCOPES) - {"admin"}


@pytest.mark.parametrize("wanted", CONTRACT_SCOPES)
def test_admin_grants_every_scope(wanted):
    assert grants({"admin"}, wanted)


@pytest.mark.parametrize("resource", ["desks", "tickets", "customers", "organizations", "forms",
                                      "rules", "webhooks"])
def test_write_scope_implies_its_read_scope_only(resource):
    assert grants({f"{resource}:write"}, f"{resource}:read")
    assert grants({f"{resource}:write"}, f"{resource}:write")
    other = "tickets" if resource != "tickets" else "desks"
    assert not grants({f"{resource}:write"}, f"{other}:read")
    assert not grants({f"{resource}:write"}, "admin")


@pytest.mark.parametrize(("held", "wanted"), [
    ({"desks:read"}, "desks:write"),
    ({"tickets:read", "tickets:write"}, "admin"),
    ({"events:read"}, "inbound"),
    ({"inbound"}, "events:read"),
    (set(), "desks:read"),
])
def test_scope_not_held_is_not_granted(held, wanted):
    assert not grants(held, wanted)


def test_held_scope_is_granted():
    assert grants(["events:read", "inbound"], "inbound")
    assert grants(iter(["events:read"]), "events:read")  # any iterable, read once


def test_desk_scope_require_raises_403_naming_the_scope():
    scope = DeskScope(Principal("api_token", 1, "t"), frozenset({"desks:read"}), None)
    scope.require("desks:read")
    with pytest.raises(Forbidden) as caught:
        scope.require("desks:write")
    assert caught.value.status == 403
    assert caught.value.extensions == {"required_scope": "desks:write"}


# Desk visibility

def test_all_desk_scope_does_not_filter():
    scope = DeskScope(Principal("user", 1, "admin"), frozenset({"admin"}), None)
    stmt = select(Desk)
    assert scope.all_desks
    assert scope.filter(stmt, Desk.id) is stmt
    assert scope.sees(123456)
    scope.check_desk(123456)


def test_desk_scope_filters_by_desk_column():
    scope = DeskScope(Principal("api_token", 1, "t"), frozenset({"desks:read"}),
                      frozenset({3, 5}))
    sql = _sql(scope.filter(select(Desk.id), Desk.id))
    assert "WHERE desks.id IN (3, 5)" in sql


def test_desk_scope_filters_a_model_by_its_desk_id():
    scope = DeskScope(Principal("api_token", 1, "t"), frozenset({"desks:read"}), frozenset({9}))
    sql = _sql(scope.filter(select(DeskMember), DeskMember))
    assert "WHERE desk_members.desk_id IN (9)" in sql


def test_empty_desk_scope_matches_nothing():
    scope = DeskScope(Principal("user", 1, "agent"), AGENT_SCOPES, frozenset())
    assert not scope.all_desks
    assert not scope.sees(1)
    assert "WHERE desks.id IN (NULL) AND (1 != 1)" in _sql(scope.filter(select(Desk.id), Desk.id))


def test_check_desk_raises_404_like_a_missing_row():
    scope = DeskScope(Principal("api_token", 1, "t"), frozenset({"desks:read"}), frozenset({3}))
    scope.check_desk(3)
    with pytest.raises(NotFound) as caught:
        scope.check_desk(4)
    assert caught.value.status == 404
    assert caught.value.detail == "Desk 4 does not exist."
    with pytest.raises(NotFound) as caught:
        scope.check_desk(4, "Ticket desk")
    assert caught.value.detail == "Ticket desk 4 does not exist."


def test_principal_key_is_kind_and_id():
    assert Principal("user", 3, "Ana").key == "user:3"
    assert Principal("api_token", 3, "Zapier", sandbox=True).key == "api_token:3"
