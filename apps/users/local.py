"""The users interface, in process (where users is served)."""

from uuid import UUID

from apps.users import selectors, services
from apps.users.interface import UserInfo
from apps.users.models import User


def get_user(user_id: UUID) -> UserInfo:
    return _info(selectors.get_user(user_id))


def authenticate(email: str, password: str) -> UserInfo:
    return _info(services.check_credentials(email, password))


def _info(user: User) -> UserInfo:
    return UserInfo(id=user.id, email=user.email, first_name=user.first_name,
                    last_name=user.last_name, is_staff=user.is_staff, is_active=user.is_active)
