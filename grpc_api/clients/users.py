"""apps/users/interface.py over gRPC."""

from uuid import UUID

from apps.users import interface
from apps.users.interface import UserInfo
from grpc_api.clients.base import RemoteApp
from grpc_api.gen import users_pb2, users_pb2_grpc


class Client(RemoteApp):
    app = "users"
    interface = interface
    service = users_pb2.DESCRIPTOR.services_by_name["Users"]
    stub_class = users_pb2_grpc.UsersStub
    # Both are reads: a retry cannot change anything.
    idempotent_methods = frozenset({"GetUser", "Authenticate"})

    def get_user(self, user_id: UUID) -> UserInfo:
        return _user_info(self._call("GetUser", users_pb2.GetUserRequest(user_id=str(user_id))))

    def authenticate(self, email: str, password: str) -> UserInfo:
        request = users_pb2.AuthenticateRequest(email=email, password=password)
        return _user_info(self._call("Authenticate", request))


def _user_info(user: users_pb2.User) -> UserInfo:
    return UserInfo(
        id=UUID(user.id), email=user.email, first_name=user.first_name, last_name=user.last_name,
        is_staff=user.is_staff, is_active=user.is_active,
    )
