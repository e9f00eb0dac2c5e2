"""The RSA keys that sign and verify tokens (RS256), read from `JWT_SIGNING_KEY` and
`JWT_VERIFYING_KEY`; each key is named by a `kid` derived from its public key, so every process
names a key alike. Rotation: docs/configuration.md.
"""

import hashlib
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)
MIN_KEY_BITS = 2048


@dataclass(frozen=True)
class JwtKeys:
    signing_kid: str | None
    signing_pem: str | None
    verifying_pems: dict[str, str]  # kid -> PEM public key

    @property
    def first_verifying_pem(self) -> str:
        return next(iter(self.verifying_pems.values()))


def key_id(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def generate_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def load_jwt_keys(signing: str | None, verifying: str | None) -> JwtKeys:
    """Parse the two variables' values; a malformed one stops start-up naming the variable."""
    if not signing and not verifying:
        signing = generate_private_pem()
    private_keys = [_load(block, "JWT_SIGNING_KEY", private=True)
                    for block in _blocks(signing, "JWT_SIGNING_KEY")]
    public_keys = [key.public_key() for key in private_keys]
    public_keys += [_load(block, "JWT_VERIFYING_KEY", private=False)
                    for block in _blocks(verifying, "JWT_VERIFYING_KEY")]
    verifying_pems = {
        key_id(key): key.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        for key in public_keys
    }
    if not private_keys:
        return JwtKeys(signing_kid=None, signing_pem=None, verifying_pems=verifying_pems)
    signing_key = private_keys[0]
    signing_pem = signing_key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
    return JwtKeys(signing_kid=key_id(signing_key.public_key()), signing_pem=signing_pem,
                   verifying_pems=verifying_pems)


def _blocks(value: str | None, variable: str) -> list[str]:
    if not value:
        return []
    # Environment files often cannot hold newlines: accept them written as "\n".
    text = value.replace("\\n", "\n")
    blocks = [match.group(0) for match in _PEM_BLOCK.finditer(text)]
    leftover = _PEM_BLOCK.sub("", text).strip()
    if not blocks or leftover:
        raise ImproperlyConfigured(
            f"{variable} must hold one or more PEM blocks "
            "(-----BEGIN ...----- ... -----END ...-----) and nothing else."
        )
    return blocks


def _load(block: str, variable: str, private: bool):
    try:
        if private:
            key = serialization.load_pem_private_key(block.encode(), password=None)
        else:
            key = serialization.load_pem_public_key(block.encode())
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{variable} holds a PEM block that is not a readable "
                                   f"{'private' if private else 'public'} key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        raise ImproperlyConfigured(f"{variable} must hold RSA keys (tokens are signed with RS256).")
    if key.key_size < MIN_KEY_BITS:
        raise ImproperlyConfigured(f"{variable} holds a {key.key_size}-bit RSA key; "
                                   f"at least {MIN_KEY_BITS} bits are required.")
    return key
