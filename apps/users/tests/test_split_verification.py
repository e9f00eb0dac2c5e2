"""A token issued here is verified by a process that serves only products and holds only the
public key: no call to users, no shared secret."""

import json
import uuid

import jwt
import pytest
from django.conf import settings

from apps.users.tests.test_token_attacks import valid_claims
from config.jwt_keys import generate_private_pem
from tests.support.processes import database_env, manage
from tests.support.users import access_token

# Run by `manage.py shell -c` in the other process: the DRF authentication every app uses.
VERIFY = """
import json, os
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from config.service_apps import served_apps

authentication = JWTStatelessUserAuthentication()
out = {"served": list(served_apps()), "results": []}
for raw in json.loads(os.environ["TOKENS"]):
    try:
        user = authentication.get_user(authentication.get_validated_token(raw.encode()))
        out["results"].append({"user_id": user.id, "is_staff": user.is_staff})
    except InvalidToken:
        out["results"].append("rejected")
print(json.dumps(out))
"""


@pytest.mark.django_db(databases=["default", "users"])
def test_products_only_process_verifies_with_the_public_key_alone():
    user_id = uuid.uuid4()
    forged = jwt.encode(valid_claims(), generate_private_pem(), algorithm="RS256",
                        headers={"kid": settings.JWT_KEYS.signing_kid})
    env = {**database_env(["products"]), "JWT_SIGNING_KEY": "",
           "JWT_VERIFYING_KEY": settings.JWT_KEYS.first_verifying_pem,
           "TOKENS": json.dumps([access_token(user_id, is_staff=True), forged])}
    result = manage(["shell", "-c", VERIFY], env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {"served": ["products"],
                   "results": [{"user_id": str(user_id), "is_staff": True}, "rejected"]}
