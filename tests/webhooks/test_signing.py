"""Standard Webhooks signing and secrets, checked against the `standardwebhooks` library."""

from __future__ import annotations

import base64
import re
import ssl
import time
from datetime import UTC, datetime

import aiohttp
import orjson
import pytest
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from writeback.common.netguard import TargetRefused
from writeback.connectors.contract import ConnectorError
from writeback.connectors.http import RESPONSE_TOO_LARGE, TIMED_OUT
from writeback.operations.webhooks import (
    InvalidSecret,
    delivery_headers,
    failure_class,
    new_secret,
    signing_key,
    standard_signature,
    validated_secret,
    verify_signature,
)

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
BODY = orjson.dumps({"notificationType": "webhook.test", "data": {"message": "test ✓"}})


def test_new_secrets_are_standard_and_random() -> None:
    made = {new_secret() for _ in range(20)}
    assert len(made) == 20
    for secret in made:
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
        assert len(signing_key(secret)) == 32
        assert validated_secret(secret) == secret


def test_signature_matches_the_reference_library() -> None:
    timestamp = 1_700_000_000
    ours = standard_signature([signing_key(SECRET)], "msg_1", timestamp, BODY)
    theirs = StandardWebhook(SECRET).sign(
        "msg_1", datetime.fromtimestamp(timestamp, UTC), BODY.decode()
    )
    assert ours == theirs


def test_delivery_headers_verify_with_every_secret_given() -> None:
    other = new_secret()
    now = int(time.time())
    headers = dict(delivery_headers("delivery-1", "webhook.test", BODY, [SECRET, other], now))
    assert headers["webhook-id"] == "delivery-1"
    assert headers["webhook-timestamp"] == str(now)
    assert headers["X-Writeback-Event"] == "webhook.test"
    assert headers["X-Writeback-Delivery"] == "delivery-1"
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET, other):
        assert StandardWebhook(secret).verify(BODY, headers) == orjson.loads(BODY)
        assert verify_signature(secret, headers["X-Writeback-Signature"], BODY)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):  # the id is signed too
        StandardWebhook(SECRET).verify(BODY, {**headers, "webhook-id": "delivery-2"})


def test_legacy_secrets_sign_with_their_bytes() -> None:
    legacy = "an-old-secret-from-before-whsec"
    assert signing_key(legacy) == legacy.encode()
    headers = dict(delivery_headers("d", "e", BODY, [legacy], int(time.time())))
    StandardWebhook(legacy.encode()).verify(BODY, headers)
    # a legacy secret that happens to start with whsec_ but is no base64: its bytes too
    odd = "whsec_%%%%-not-base64-%%%%"
    assert signing_key(odd) == odd.encode()


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("plain-secret-of-some-length-000000", "must start with"),
        ("whsec_", "holds 0"),
        ("whsec_@@@@", "not valid base64"),
        ("whsec_" + base64.b64encode(b"x" * 23).decode(), "holds 23"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "holds 65"),
    ],
)
def test_invalid_secrets_are_explained_without_being_echoed(secret: str, why: str) -> None:
    with pytest.raises(InvalidSecret) as refused:
        validated_secret(secret)
    assert why in str(refused.value)
    assert secret not in str(refused.value)


def test_secret_lengths_at_the_limits_are_accepted() -> None:
    for size in (24, 64):
        secret = "whsec_" + base64.b64encode(b"k" * size).decode()
        assert validated_secret(secret) == secret
        assert validated_secret(secret.rstrip("=")) == secret.rstrip("=")  # padding optional


def _wrapped(cause: BaseException, **options: object) -> ConnectorError:
    """A failure as ProviderHttp raises it: a ConnectorError raised from what went wrong."""
    try:
        raise cause
    except BaseException as exc:
        try:
            raise ConnectorError("network", "detail a receiver may control", **options) from exc
        except ConnectorError as error:
            return error


def _connector_error(os_error: OSError) -> aiohttp.ClientConnectorError:
    key = type("Key", (), {"ssl": None, "host": "h", "port": 1})()
    return aiohttp.ClientConnectorError(key, os_error)  # type: ignore[arg-type]


def test_failures_are_named_by_class_only() -> None:
    refused = TargetRefused("rebind.example", "loopback", "127.0.0.1")
    cases = [
        (_wrapped(_connector_error(refused)), "target address refused (loopback): "),
        (_wrapped(_connector_error(ConnectionRefusedError(111, "x"))), "connection refused"),
        (_wrapped(TimeoutError(), code=TIMED_OUT, sent=True), "timed out after 10s"),
        (TimeoutError(), "timed out after 10s"),
        (_wrapped(ssl.SSLCertVerificationError(1, "x")), "TLS handshake failed (certificate"),
        (_wrapped(ssl.SSLError(1, "x")), "TLS handshake failed"),
        (_wrapped(ValueError(), code=RESPONSE_TOO_LARGE, status=500), "answer too large"),
        (_wrapped(ConnectionResetError()), "connection closed before the answer"),
        (_wrapped(ValueError("receiver text")), "delivery failed (ConnectorError)"),
    ]
    for exc, expected in cases:
        named = failure_class(exc, 10.0)
        assert named.startswith(expected), (exc, named)
        assert "receiver" not in named and "detail" not in named
