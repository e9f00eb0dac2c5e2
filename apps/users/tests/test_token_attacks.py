"""What a reviewer would try against the access token every service trusts."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import RSAAlgorithm
from rest_framework_simplejwt.exceptions import TokenBackendError

from apps.common.auth.tokens import AccessToken, KeyRingTokenBackend
from config.jwt_keys import generate_private_pem, load_jwt_keys
from tests.support.problems import assert_problem
from tests.support.users import access_token

pytestmark = pytest.mark.django_db(databases=["default", "users"])

ME = "/api/v1/users/me"
STAFF_ONLY = "/api/v1/users"


def b64(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def valid_claims(**overrides) -> dict:
    now = int(time.time())
    return {"token_type": "access", "exp": now + 300, "iat": now, "jti": uuid.uuid4().hex,
            "user_id": str(uuid.uuid4()), "is_staff": True, "iss": "shop-users", "aud": "shop",
            **overrides}


def answer(api_client, token, path=STAFF_ONLY):
    response = api_client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "token_invalid")
    return response


def test_a_genuine_staff_token_is_accepted(api_client):
    response = api_client.get(STAFF_ONLY, headers={"Authorization": f"Bearer {access_token(is_staff=True)}"})
    assert response.status_code == 200


def test_signed_with_another_key_even_under_our_kid(api_client):
    other_key = generate_private_pem()
    for kid in (settings.JWT_KEYS.signing_kid, "someone-elses"):
        token = jwt.encode(valid_claims(), other_key, algorithm="RS256", headers={"kid": kid})
        answer(api_client, token)


def test_alg_none(api_client):
    header = {"alg": "none", "typ": "JWT", "kid": settings.JWT_KEYS.signing_kid}
    for signature in ("", "x"):
        answer(api_client, f"{b64(header)}.{b64(valid_claims())}.{signature}")


def test_hs256_signed_with_the_public_key_as_secret(api_client):
    header = {"alg": "HS256", "typ": "JWT", "kid": settings.JWT_KEYS.signing_kid}
    signing_input = f"{b64(header)}.{b64(valid_claims())}"
    secret = settings.JWT_KEYS.first_verifying_pem.encode()
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    answer(api_client, f"{signing_input}.{b64(signature)}")


def test_expired(api_client):
    token = AccessToken()
    token["user_id"] = str(uuid.uuid4())
    token.set_exp(lifetime=-settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"])
    answer(api_client, str(token), ME)


@pytest.mark.parametrize("claim", [{"iss": "somebody-else"}, {"aud": "another-shop"},
                                   {"token_type": "refresh"}])
def test_wrong_issuer_audience_or_type_with_a_real_signature(api_client, claim):
    token = jwt.encode(valid_claims(**claim), settings.JWT_KEYS.signing_pem, algorithm="RS256",
                       headers={"kid": settings.JWT_KEYS.signing_kid})
    answer(api_client, token)


def test_tampered_payload_keeps_no_valid_signature(api_client):
    header, payload, signature = access_token(is_staff=False).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = f"{header}.{b64({**claims, 'is_staff': True})}.{signature}"
    answer(api_client, forged)


def rs256(header: dict, private_pem: str) -> str:
    signing_input = f"{b64({'alg': 'RS256', 'typ': 'JWT', **header})}.{b64(valid_claims())}"
    rsa = RSAAlgorithm(RSAAlgorithm.SHA256)
    return f"{signing_input}.{b64(rsa.sign(signing_input.encode(), rsa.prepare_key(private_pem)))}"


@pytest.mark.parametrize("kid", [["a"], {"a": 1}, 7])
def test_odd_kid(api_client, kid):
    answer(api_client, rs256({"kid": kid}, settings.JWT_KEYS.signing_pem))


def test_without_kid_only_the_first_key_verifies(api_client):
    answer(api_client, rs256({}, generate_private_pem()))
    accepted = api_client.get(STAFF_ONLY, headers={
        "Authorization": f"Bearer {rs256({}, settings.JWT_KEYS.signing_pem)}"})
    assert accepted.status_code == 200


@pytest.mark.parametrize("value", ["Bearer", "Bearer a b", "Bearer not.a.jwt", "Bearer %%%"])
def test_malformed_authorization_header(api_client, value):
    response = api_client.get(ME, headers={"Authorization": value})
    assert response.status_code == 401
    assert response.json()["code"] in {"token_invalid", "not_authenticated"}


def test_anonymous_is_not_authenticated_and_shopper_is_forbidden(api_client):
    response = api_client.get(STAFF_ONLY)
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    response = api_client.get(STAFF_ONLY, headers={"Authorization": f"Bearer {access_token()}"})
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


class TestKeyRotation:
    def test_every_key_in_the_ring_verifies_and_only_the_first_signs(self):
        new, old = generate_private_pem(), generate_private_pem()
        old_ring = KeyRingTokenBackend(load_jwt_keys(old, None), "shop", "shop-users")
        rotated = KeyRingTokenBackend(load_jwt_keys(new + "\n" + old, None), "shop", "shop-users")
        payload = valid_claims()
        issued_before = old_ring.encode(payload)
        assert rotated.decode(issued_before)["jti"] == payload["jti"]
        issued_after = rotated.encode(payload)
        assert jwt.get_unverified_header(issued_after)["kid"] == rotated.signing_kid != old_ring.signing_kid
        assert rotated.decode(issued_after)["jti"] == payload["jti"]

    def test_a_verify_only_ring_accepts_its_public_keys_and_cannot_sign(self):
        signer = KeyRingTokenBackend(load_jwt_keys(generate_private_pem(), None), "shop", "shop-users")
        public = next(iter(signer.verifying_keys.values()))
        public_pem = public.public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        verifier = KeyRingTokenBackend(load_jwt_keys(None, public_pem), "shop", "shop-users")
        token = signer.encode(valid_claims())
        assert verifier.decode(token)["iss"] == "shop-users"
        with pytest.raises(ImproperlyConfigured, match="JWT_SIGNING_KEY"):
            verifier.encode(valid_claims())

    def test_a_retired_key_no_longer_verifies(self):
        old, new = generate_private_pem(), generate_private_pem()
        issued = KeyRingTokenBackend(load_jwt_keys(old, None), "shop", "shop-users").encode(valid_claims())
        with pytest.raises(TokenBackendError):
            KeyRingTokenBackend(load_jwt_keys(new, None), "shop", "shop-users").decode(issued)
