"""apps/users/interface.py's types <-> users.proto's messages."""

from uuid import UUID

from apps.users.interface import UserInfo
from grpc_api.gen import users_pb2


def user_message(user: UserInfo) -> users_pb2.User:
    return users_pb2.User(
        id=str(user.id), email=user.email, first_name=user.first_name, last_name=user.last_name,
        is_staff=user.is_staff, is_active=user.is_active,
    )


def user_info(message: users_pb2.User) -> UserInfo:
    return UserInfo(
        id=UUID(message.id), email=message.email, first_name=message.first_name,
        last_name=message.last_name, is_staff=message.is_staff, is_active=message.is_active,
    )
