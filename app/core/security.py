"""Passwords, staff JWTs and API token secrets: pure functions, no I/O."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

TOKEN_PREFIX = "swb_"
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "switchboard"

_hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not tell which part was wrong.
_DUMMY_HASH = _hasher.hash("switchboard-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def create_access_token(user_id: int, secret: str, expires_in: int, *, now: float | None = None) -> str:
    # `iat` keeps the fraction of a second: a token is refused when issued before the user's
    # last password change, and a sign-in right after a change must not look older than it.
    issued = now if now is not None else time.time()
    claims = {"sub": str(user_id), "iss": JWT_ISSUER, "iat": issued,
              "exp": int(issued) + expires_in}
    return jwt.encode({"alg": JWT_ALGORITHM}, claims, OctKey.import_key(secret))


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    issued_at: float  # seconds since the epoch, as signed in `iat`


# Seconds of clock difference between the processes tolerated on `iat` and `exp`.
JWT_LEEWAY_SECONDS = 1


def decode_access_token(token: str, secret: str, *, now: float | None = None
                        ) -> AccessClaims | None:
    """The claims of a valid, unexpired token, else None."""
    try:
        decoded = jwt.decode(token, OctKey.import_key(secret), algorithms=[JWT_ALGORITHM])
        registry = jwt.JWTClaimsRegistry(
            now=int(now) if now is not None else None,
            leeway=JWT_LEEWAY_SECONDS,
            iss={"essential": True, "value": JWT_ISSUER},
            sub={"essential": True},
            iat={"essential": True},
            exp={"essential": True},
        )
        registry.validate(decoded.claims)
        return AccessClaims(int(decoded.claims["sub"]), float(decoded.claims["iat"]))
    except (JoseError, ValueError, TypeError, KeyError):
        return None


@dataclass(frozen=True)
class NewToken:
    secret: str
    prefix: str
    digest: bytes


def new_api_token() -> NewToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 32 random bytes, 43 characters
    return NewToken(secret=secret, prefix=secret[: len(TOKEN_PREFIX) + 6], digest=hash_token(secret))


def hash_token(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()
