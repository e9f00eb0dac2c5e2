"""Admin sign-in with email (the served path of apps.users.backends) and the users admin."""

import pytest
from django.contrib.auth import authenticate
from django.urls import reverse

from apps.users.models import User
from tests.support.users import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db(databases=["default", "users"])


def sign_in(client, email, password=PASSWORD):
    return client.post(reverse("admin:login"), {"username": email, "password": password,
                                                "next": reverse("admin:index")})


class TestSignIn:
    def test_staff_sign_in_with_their_email(self, client, staff_user):
        response = sign_in(client, staff_user.email.upper())
        assert response.status_code == 302 and response["Location"] == reverse("admin:index")
        assert client.get(reverse("admin:users_user_changelist")).status_code == 200

    @pytest.mark.parametrize("who", ["shopper", "inactive staff", "wrong password", "unknown"])
    def test_everyone_else_is_refused(self, client, who):
        staff_user = StaffFactory(is_active=who != "inactive staff")
        email = {"shopper": UserFactory().email, "unknown": "nobody@example.com"}.get(who, staff_user.email)
        response = sign_in(client, email, "wrong-Password-1" if who == "wrong password" else PASSWORD)
        assert response.status_code == 200  # the form again, with an error
        assert "_auth_user_id" not in client.session

    def test_the_backend_shares_the_login_throttle(self, staff_user):
        for _ in range(5):
            assert authenticate(username=staff_user.email, password="wrong-Password-1") is None
        assert authenticate(username=staff_user.email, password=PASSWORD) is None

    def test_a_deactivated_session_ends(self, client, staff_user):
        sign_in(client, staff_user.email)
        User.objects.filter(pk=staff_user.pk).update(is_active=False)
        assert client.get(reverse("admin:index")).status_code == 302


class TestUserAdmin:
    @pytest.fixture
    def staff_admin_client(self, client, staff_user):
        """Signed in to the admin as staff, not superuser (pytest-django's admin_client is one)."""
        client.force_login(staff_user)
        return client

    def test_search_and_filters(self, staff_admin_client):
        UserFactory(email="ada@example.com", last_name="Lovelace")
        UserFactory(email="grace@example.com", last_name="Hopper", is_active=False)
        url = reverse("admin:users_user_changelist")
        assert list(staff_admin_client.get(url, {"q": "lovelace"}).context["cl"].result_list.values_list(
            "email", flat=True)) == ["ada@example.com"]
        inactive = staff_admin_client.get(url, {"is_active__exact": "0"}).context["cl"].result_list
        assert [user.email for user in inactive] == ["grace@example.com"]
        staff_only = staff_admin_client.get(url, {"is_staff__exact": "1"}).context["cl"].result_list
        assert all(user.is_staff for user in staff_only) and len(staff_only) == 1

    def test_deactivate_action(self, staff_admin_client):
        targets = UserFactory.create_batch(2)
        bystander = UserFactory()
        response = staff_admin_client.post(reverse("admin:users_user_changelist"), {
            "action": "deactivate_selected", "_selected_action": [str(user.pk) for user in targets]})
        assert response.status_code == 302
        assert set(User.objects.filter(is_active=False).values_list("pk", flat=True)) == \
            {user.pk for user in targets}
        assert User.objects.get(pk=bystander.pk).is_active

    def test_change_page_never_shows_the_password_and_protects_read_only_fields(self, staff_admin_client,
                                                                                user):
        url = reverse("admin:users_user_change", args=[user.pk])
        page = staff_admin_client.get(url).content.decode()
        assert user.password not in page and "argon2" not in page
        response = staff_admin_client.post(url, {
            "email": "NEW@Example.com", "first_name": "N", "last_name": "M", "is_active": "on",
            "date_joined": "2000-01-01 00:00:00", "password": "injected"})
        assert response.status_code == 302, response.context["adminform"].form.errors
        stored = User.objects.get(pk=user.pk)
        assert stored.email == "new@example.com"
        assert stored.date_joined == user.date_joined and stored.check_password(PASSWORD)

    def test_staff_set_a_password(self, staff_admin_client, user):
        url = reverse("admin:users_user_password_change", args=[user.pk])
        assert staff_admin_client.get(url).status_code == 200
        weak = staff_admin_client.post(url, {"password1": "123", "password2": "123",
                                             "usable_password": "true"})
        assert weak.status_code == 200 and User.objects.get(pk=user.pk).check_password(PASSWORD)
        new = "another-Long-secret-77"
        response = staff_admin_client.post(url, {"password1": new, "password2": new,
                                                 "usable_password": "true"})
        assert response.status_code == 302
        assert User.objects.get(pk=user.pk).check_password(new)
