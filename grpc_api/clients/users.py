"""apps/users/interface.py over gRPC."""

from uuid import UUID

from apps.users import interface
from apps.users.interface import UserInfo
from grpc_api.clients.base import RemoteApp
from grpc_api.gen import users_pb2, users_pb2_grpc
from grpc_api.serial import users as serial


class Client(RemoteApp):
    app = "users"
    interface = interface
    service = users_pb2.DESCRIPTOR.services_by_name["Users"]
    stub_class = users_pb2_grpc.UsersStub
    # Password hashing (Argon2) is slow on purpose.
    deadline_factors = {"Authenticate": 5}

    def get_user(self, user_id: UUID) -> UserInfo:
        return serial.user_info(self._call("GetUser", users_pb2.GetUserRequest(user_id=str(user_id))))

    def authenticate(self, email: str, password: str) -> UserInfo:
        request = users_pb2.AuthenticateRequest(email=email, password=password)
        return serial.user_info(self._call("Authenticate", request))
