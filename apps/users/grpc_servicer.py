"""The users servicer: proto -> apps.users.local -> proto. Errors are mapped by grpc_api.server."""

from uuid import UUID

from apps.users import local
from apps.users.interface import UserInfo
from grpc_api.gen import users_pb2, users_pb2_grpc

SERVICE_NAME = users_pb2.DESCRIPTOR.services_by_name["Users"].full_name


class UsersServicer(users_pb2_grpc.UsersServicer):
    def GetUser(self, request, context):
        return _user(local.get_user(UUID(request.user_id)))

    def Authenticate(self, request, context):
        return _user(local.authenticate(request.email, request.password))


def _user(user: UserInfo) -> users_pb2.User:
    return users_pb2.User(
        id=str(user.id), email=user.email, first_name=user.first_name, last_name=user.last_name,
        is_staff=user.is_staff, is_active=user.is_active,
    )


def add_to_server(server):
    users_pb2_grpc.add_UsersServicer_to_server(UsersServicer(), server)
