"""Key configuration: parsed once at start-up; a malformed value stops the process naming it."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured

from config.jwt_keys import generate_private_pem, load_jwt_keys
from tests.support.processes import manage


def public_pem_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_development_generates_a_key_per_start():
    first, second = load_jwt_keys(None, None), load_jwt_keys(None, None)
    assert first.signing_pem and second.signing_pem and first.signing_kid != second.signing_kid


def test_the_kid_is_the_same_in_every_process_for_the_same_key():
    private = generate_private_pem()
    signer, verifier = load_jwt_keys(private, None), load_jwt_keys(None, public_pem_of(private))
    assert list(verifier.verifying_pems) == [signer.signing_kid]
    assert verifier.signing_pem is None


def test_several_blocks_and_escaped_newlines():
    first, second, extra = generate_private_pem(), generate_private_pem(), generate_private_pem()
    keys = load_jwt_keys(f"{first}\n{second}".replace("\n", "\\n"), public_pem_of(extra))
    assert keys.signing_kid == load_jwt_keys(first, None).signing_kid
    assert len(keys.verifying_pems) == 3


@pytest.mark.parametrize(("signing", "verifying", "variable"), [
    ("not a key", None, "JWT_SIGNING_KEY"),
    ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", None, "JWT_SIGNING_KEY"),
    (None, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "JWT_VERIFYING_KEY"),
    (None, "trailing junk", "JWT_VERIFYING_KEY"),
])
def test_malformed_values_name_their_variable(signing, verifying, variable):
    with pytest.raises(ImproperlyConfigured, match=variable):
        load_jwt_keys(signing, verifying)


def test_weak_and_non_rsa_keys_are_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the point of the test)
    elliptic = ec.generate_private_key(ec.SECP256R1())
    for key in (small, elliptic):
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        with pytest.raises(ImproperlyConfigured, match="JWT_SIGNING_KEY"):
            load_jwt_keys(pem, None)


def test_start_up_fails_naming_the_variable():
    broken = "-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----"
    result = manage(["check"], {"JWT_SIGNING_KEY": broken})
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY" in result.stderr


def test_the_users_service_needs_a_signing_key():
    public = public_pem_of(generate_private_pem())
    refused = manage(["check"], {"SERVICE_APPS": "users", "JWT_VERIFYING_KEY": public})
    assert refused.returncode != 0 and "JWT_SIGNING_KEY must be set" in refused.stderr
    accepted = manage(["check"], {"SERVICE_APPS": "products", "JWT_VERIFYING_KEY": public})
    assert accepted.returncode == 0, accepted.stderr
