"""Reads of the users app."""

from uuid import UUID

from django.db.models import Q, QuerySet

from apps.users.errors import UserNotFound
from apps.users.models import DB, User


def get_user(user_id: UUID) -> User:
    user = User.objects.using(DB).filter(pk=user_id).first()
    if user is None:
        raise UserNotFound()
    return user


def search_users(search: str = "") -> QuerySet[User]:
    """Users whose email or name contains `search`, ordered by email."""
    users = User.objects.using(DB).order_by("email")
    if search:
        users = users.filter(Q(email__icontains=search) | Q(first_name__icontains=search)
                             | Q(last_name__icontains=search))
    return users
