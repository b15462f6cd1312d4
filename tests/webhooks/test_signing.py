"""Standard Webhooks signatures, verified with the reference `standardwebhooks` package."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from app.models import Webhook
from app.webhooks import signing

BODY = json.dumps({"id": 41, "type": "ticket.created", "data": {"subject": "Héllo"}}).encode()


def _signed(secrets: list[str], msg_id: str = "41", body: bytes = BODY) -> dict[str, str]:
    return signing.headers(secrets, msg_id, int(time.time()), body)


def test_new_secret_is_whsec_and_base64_of_32_random_bytes():
    first, second = signing.new_secret(), signing.new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second


def test_signature_verifies_with_the_reference_implementation():
    secret = signing.new_secret()
    headers = _signed([secret])
    assert Verifier(secret).verify(BODY, headers) == json.loads(BODY)


def test_headers_carry_id_timestamp_one_signature_and_json_type():
    secret = signing.new_secret()
    headers = signing.headers([secret], "41", 1_767_000_000, BODY)
    assert headers["webhook-id"] == "41"
    assert headers["webhook-timestamp"] == "1767000000"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"] == signing.sign(secret, "41", 1_767_000_000, BODY)
    assert headers["webhook-signature"].startswith("v1,")
    assert " " not in headers["webhook-signature"]


def test_reference_verification_fails_for_a_changed_body_id_or_other_secret():
    secret = signing.new_secret()
    headers = _signed([secret])
    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(BODY.replace(b"41", b"42"), headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(BODY, {**headers, "webhook-id": "42"})
    with pytest.raises(WebhookVerificationError):
        Verifier(signing.new_secret()).verify(BODY, headers)


def test_two_secrets_give_two_signatures_each_verifying_alone():
    new, old = signing.new_secret(), signing.new_secret()
    headers = _signed([new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert all(s.startswith("v1,") for s in headers["webhook-signature"].split(" "))
    Verifier(new).verify(BODY, headers)
    Verifier(old).verify(BODY, headers)


def test_signing_needs_a_secret_that_is_base64():
    with pytest.raises(ValueError):
        signing.sign("whsec_not base64!", "1", 1, BODY)
    with pytest.raises(ValueError):
        signing.signature_header([], "1", 1, BODY)


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _webhook(previous_expires_at: datetime | None) -> Webhook:
    return Webhook(secret=signing.new_secret(),
                   previous_secret=signing.new_secret() if previous_expires_at else None,
                   previous_secret_expires_at=previous_expires_at)


def test_signing_secrets_during_rotation_overlap_are_new_then_old():
    webhook = _webhook(NOW + timedelta(hours=1))
    assert signing.signing_secrets(webhook, NOW) == [webhook.secret, webhook.previous_secret]
    headers = _signed(signing.signing_secrets(webhook, NOW))
    Verifier(webhook.secret).verify(BODY, headers)
    Verifier(webhook.previous_secret).verify(BODY, headers)


def test_expired_previous_secret_no_longer_signs():
    webhook = _webhook(NOW)
    assert signing.signing_secrets(webhook, NOW) == [webhook.secret]
    headers = _signed(signing.signing_secrets(webhook, NOW + timedelta(seconds=1)))
    Verifier(webhook.secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(webhook.previous_secret).verify(BODY, headers)


def test_webhook_never_rotated_signs_with_its_secret_only():
    webhook = _webhook(None)
    assert signing.signing_secrets(webhook, NOW) == [webhook.secret]
