"""Admin sign-in with email and password, in every mode: through the users interface, with a
staff-only shadow row where users is served elsewhere (docs/operations.md, "When apps run apart").
"""

from django.contrib.auth.backends import BaseBackend

from apps.users import interface as users
from apps.users.models import User
from config.service_apps import is_served


class EmailBackend(BaseBackend):
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = email or username
        if not email or password is None:
            return None
        try:
            info = users.authenticate(email, password)
        except (users.InvalidCredentials, users.TooManyAttempts):
            return None
        if is_served("users"):
            return User.objects.filter(pk=info.id).first()
        return _shadow_of(info) if info.is_staff else None

    def get_user(self, user_id):
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None or is_served("users"):
            return user
        try:
            info = users.get_user(user.pk)
        except users.UserNotFound:
            return None
        return user if info.is_active and info.is_staff else None


def _shadow_of(info: users.UserInfo) -> User:
    user, created = User.objects.update_or_create(
        id=info.id,
        defaults={"email": info.email, "first_name": info.first_name, "last_name": info.last_name,
                  "is_staff": True, "is_active": True},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
