"""Standard Webhooks signatures (https://www.standardwebhooks.com/): pure functions, no I/O.

A secret is `whsec_` + base64 of random bytes; the HMAC key is the decoded bytes. A message is
signed as `HMAC-SHA256(key, f"{msg_id}.{timestamp}.{body}")`, sent as `v1,<base64>`. During a
secret rotation both secrets sign, giving two space-separated `v1,` signatures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Protocol

PREFIX = "whsec_"
SECRET_BYTES = 32
# How long a rotated-out secret keeps signing next to the new one.
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: the base64-decoded part after `whsec_` (as the reference does)."""
    encoded = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not base64") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature, `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    to_sign = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one `v1,` signature per secret, space-separated."""
    if not secrets_:
        raise ValueError("at least one secret is needed to sign")
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_)


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header of a signed delivery (the body is sent as JSON)."""
    return {
        "content-type": "application/json",
        "webhook-id": str(msg_id),
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signature_header(secrets_, str(msg_id), timestamp, body),
    }


class HasSecrets(Protocol):
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None


def signing_secrets(webhook: HasSecrets, now: datetime) -> list[str]:
    """The secrets that sign a delivery at `now`: the current one, plus the previous one while
    its rotation overlap lasts."""
    found = [webhook.secret]
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret and expires is not None and now < expires:
        found.append(webhook.previous_secret)
    return found
