"""The users servicer: proto -> apps.users.local -> proto. Errors are mapped by grpc_api.server."""

from uuid import UUID

from apps.users import local
from grpc_api.gen import users_pb2, users_pb2_grpc
from grpc_api.serial import users as serial

SERVICE_NAME = users_pb2.DESCRIPTOR.services_by_name["Users"].full_name


class UsersServicer(users_pb2_grpc.UsersServicer):
    def GetUser(self, request, context):
        return serial.user_message(local.get_user(UUID(request.user_id)))

    def Authenticate(self, request, context):
        return serial.user_message(local.authenticate(request.email, request.password))


def add_to_server(server):
    users_pb2_grpc.add_UsersServicer_to_server(UsersServicer(), server)
