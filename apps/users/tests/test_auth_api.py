"""Register, log in, refresh, log out: success and every error the contract names."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings

from apps.users.models import User
from tests.support.metrics import sample
from tests.support.problems import assert_problem
from tests.support.users import PASSWORD, bearer

pytestmark = pytest.mark.django_db(databases=["default", "users"])

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/token/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"


def log_in(client, email, password=PASSWORD):
    return client.post(TOKEN, {"email": email, "password": password}, format="json")


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def reuse_count() -> float:
    return sample("shop_refresh_token_reuse_total")


class TestRegister:
    def test_creates_a_user_with_a_lower_case_email_and_an_argon2_hash(self, api_client):
        response = api_client.post(REGISTER, {"email": "Ada@Example.COM", "password": PASSWORD,
                                              "first_name": "Ada"}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"id", "email", "first_name", "last_name", "is_staff", "is_active",
                             "date_joined"}
        assert body["email"] == "ada@example.com"
        assert (body["first_name"], body["last_name"], body["is_staff"], body["is_active"]) == \
            ("Ada", "", False, True)
        stored = User.objects.get(pk=body["id"])
        assert stored.password.startswith("argon2$")
        assert stored.check_password(PASSWORD)

    def test_email_taken_ignores_case(self, api_client, user):
        response = api_client.post(REGISTER, {"email": user.email.upper(), "password": PASSWORD},
                                   format="json")
        assert_problem(response, 409, "email_taken")

    @pytest.mark.parametrize("password", ["short1", "password123", "12345678901", "ada@example.com"])
    def test_weak_password_is_400_naming_password(self, api_client, password):
        response = api_client.post(REGISTER, {"email": "ada@example.com", "password": password},
                                   format="json")
        body = assert_problem(response, 400, "validation_error")
        assert set(body["errors"]) == {"password"} and body["errors"]["password"]
        assert not User.objects.exists()

    def test_bad_email_and_missing_fields(self, api_client):
        response = api_client.post(REGISTER, {"email": "not-an-email", "password": PASSWORD},
                                   format="json")
        assert set(assert_problem(response, 400, "validation_error")["errors"]) == {"email"}
        response = api_client.post(REGISTER, {}, format="json")
        assert set(assert_problem(response, 400, "validation_error")["errors"]) == {"email", "password"}

    def test_cannot_register_as_staff(self, api_client):
        response = api_client.post(REGISTER, {"email": "eve@example.com", "password": PASSWORD,
                                              "is_staff": True, "is_superuser": True}, format="json")
        assert response.status_code == 201
        assert response.json()["is_staff"] is False
        assert not User.objects.get(email="eve@example.com").is_superuser


class TestToken:
    def test_pair_with_the_claims_services_authorize_on(self, api_client, staff_user):
        response = log_in(api_client, staff_user.email.upper())
        assert response.status_code == 200, response.content
        pair = response.json()
        access, refresh = claims(pair["access"]), claims(pair["refresh"])
        assert access["user_id"] == str(staff_user.id) and access["is_staff"] is True
        assert (access["token_type"], refresh["token_type"]) == ("access", "refresh")
        assert (access["iss"], access["aud"]) == ("shop-users", "shop")
        assert 5 * 60 - 1 <= access["exp"] - access["iat"] <= 5 * 60  # exp counts from the refresh's iat
        header = jwt.get_unverified_header(pair["access"])
        assert header["alg"] == "RS256" and header["kid"] == settings.JWT_KEYS.signing_kid
        staff_user.refresh_from_db()
        assert staff_user.last_login is not None

    def test_access_token_authenticates(self, api_client, user):
        access = log_in(api_client, user.email).json()["access"]
        response = api_client.get(ME, headers={"Authorization": f"Bearer {access}"})
        assert response.status_code == 200 and response.json()["id"] == str(user.id)

    def test_same_answer_for_unknown_email_wrong_password_and_inactive_user(self, api_client):
        from tests.support.users import UserFactory

        active = UserFactory()
        inactive = UserFactory(is_active=False)
        answers = [log_in(api_client, "nobody@example.com"),
                   log_in(api_client, active.email, "wrong-Password-1"),
                   log_in(api_client, inactive.email)]
        bodies = [assert_problem(answer, 401, "invalid_credentials") for answer in answers]
        assert bodies[0] == bodies[1] == bodies[2]
        # Every response carries its own request id; nothing else may differ.
        per_response = {"Content-Length", "X-Request-ID"}
        assert len({frozenset((name, value) for name, value in answer.headers.items()
                              if name not in per_response)
                    for answer in answers}) == 1

    def test_malformed_body_is_400(self, api_client):
        assert_problem(api_client.post(TOKEN, {"email": "a@example.com"}, format="json"),
                       400, "validation_error")
        assert_problem(api_client.post(TOKEN, "{not json", content_type="application/json"),
                       400, "malformed_request")


class TestRefresh:
    def test_rotates_and_the_old_refresh_no_longer_works(self, api_client, user):
        first = log_in(api_client, user.email).json()
        response = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")
        assert response.status_code == 200, response.content
        second = response.json()
        assert second["refresh"] != first["refresh"]
        assert claims(second["access"])["user_id"] == str(user.id)
        reused = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")
        assert_problem(reused, 401, "token_invalid")

    def test_a_reused_refresh_token_revokes_its_whole_family_and_is_counted(self, api_client, user):
        """A thief rotated first: when the victim's (revoked) token comes back, the thief's chain
        dies too; another login (another family) of the same user lives on."""
        reuses = reuse_count()
        stolen = log_in(api_client, user.email).json()["refresh"]
        other_device = log_in(api_client, user.email).json()["refresh"]
        thief = api_client.post(REFRESH, {"refresh": stolen}, format="json").json()["refresh"]
        thief = api_client.post(REFRESH, {"refresh": thief}, format="json").json()["refresh"]
        assert claims(thief)["family"] == claims(stolen)["family"] != claims(other_device)["family"]

        assert_problem(api_client.post(REFRESH, {"refresh": stolen}, format="json"), 401, "token_invalid")
        assert_problem(api_client.post(REFRESH, {"refresh": thief}, format="json"), 401, "token_invalid")
        assert api_client.post(REFRESH, {"refresh": other_device}, format="json").status_code == 200
        # The thief's reuse above was itself a reuse: two in all.
        assert reuse_count() == reuses + 2

    def test_a_forged_token_is_not_a_reuse(self, api_client, user):
        reuses = reuse_count()
        refresh = log_in(api_client, user.email).json()["refresh"]
        forged = refresh[:-4] + ("AAAA" if not refresh.endswith("AAAA") else "BBBB")
        assert_problem(api_client.post(REFRESH, {"refresh": forged}, format="json"), 401, "token_invalid")
        assert api_client.post(REFRESH, {"refresh": refresh}, format="json").status_code == 200
        assert reuse_count() == reuses

    def test_claims_are_read_afresh_so_a_demoted_user_loses_staff(self, api_client, staff_user):
        refresh = log_in(api_client, staff_user.email).json()["refresh"]
        User.objects.filter(pk=staff_user.pk).update(is_staff=False)
        access = api_client.post(REFRESH, {"refresh": refresh}, format="json").json()["access"]
        assert claims(access)["is_staff"] is False

    def test_deactivated_after_issuing_cannot_refresh(self, api_client, user):
        refresh = log_in(api_client, user.email).json()["refresh"]
        User.objects.filter(pk=user.pk).update(is_active=False)
        assert_problem(api_client.post(REFRESH, {"refresh": refresh}, format="json"), 401, "token_invalid")

    def test_access_token_and_garbage_are_not_refresh_tokens(self, api_client, user):
        access = log_in(api_client, user.email).json()["access"]
        for value in (access, "garbage", "a.b.c"):
            assert_problem(api_client.post(REFRESH, {"refresh": value}, format="json"), 401,
                           "token_invalid")
        assert_problem(api_client.post(REFRESH, {}, format="json"), 400, "validation_error")

    def test_expired_refresh(self, api_client, user, settings):
        from apps.users.tokens import RefreshToken

        refresh = RefreshToken.for_user(user)
        refresh.set_exp(lifetime=-timedelta(seconds=1))
        assert_problem(api_client.post(REFRESH, {"refresh": str(refresh)}, format="json"), 401,
                       "token_invalid")

    def test_an_authorization_header_does_not_matter_on_public_endpoints(self, api_client, user):
        response = api_client.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json",
                                   headers={"Authorization": "Bearer garbage"})
        assert response.status_code == 200


class TestLogout:
    def test_revokes_the_refresh_token(self, api_client, user):
        pair = log_in(api_client, user.email).json()
        auth = {"Authorization": f"Bearer {pair['access']}"}
        response = api_client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json", headers=auth)
        assert response.status_code == 204
        assert_problem(api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401,
                       "token_invalid")
        again = api_client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json", headers=auth)
        assert_problem(again, 401, "token_invalid")

    def test_needs_authentication(self, api_client, user):
        refresh = log_in(api_client, user.email).json()["refresh"]
        assert_problem(api_client.post(LOGOUT, {"refresh": refresh}, format="json"), 401,
                       "not_authenticated")
        assert api_client.post(REFRESH, {"refresh": refresh}, format="json").status_code == 200

    def test_cannot_revoke_someone_elses_refresh_token(self, api_client, user, staff_user):
        victims_refresh = log_in(api_client, staff_user.email).json()["refresh"]
        response = api_client.post(LOGOUT, {"refresh": victims_refresh}, format="json",
                                   headers=bearer(user))
        assert_problem(response, 401, "token_invalid")

    def test_bad_refresh_body(self, api_client, user):
        assert_problem(api_client.post(LOGOUT, {}, format="json", headers=bearer(user)), 400,
                       "validation_error")
        assert_problem(api_client.post(LOGOUT, {"refresh": "x"}, format="json", headers=bearer(user)),
                       401, "token_invalid")
