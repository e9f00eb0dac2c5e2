from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api.openapi import NOT_AUTHENTICATED, PERMISSION_DENIED, VALIDATION_ERROR, problem
from apps.common.api.permissions import IsStaff
from apps.users import selectors, services
from apps.users.errors import TokenInvalid, UserNotFound
from apps.users.rest.serializers import (
    CredentialsSerializer,
    ProfileUpdateSerializer,
    RefreshSerializer,
    RegisterSerializer,
    StaffUserUpdateSerializer,
    TokenPairSerializer,
    UserSerializer,
)

TOKEN_INVALID = problem("`token_invalid`: the refresh token is malformed, expired, revoked, "
                        "already used, or its user is deactivated.")
NOT_FOUND = problem("`not_found`: no user with this id.")


class PublicView(APIView):
    """Endpoints that take credentials in the body: an Authorization header is not looked at."""

    authentication_classes = ()
    permission_classes = ()


class RegisterView(PublicView):
    throttle_scope = "register_ip"

    @extend_schema(
        operation_id="auth_register", tags=["auth"], request=RegisterSerializer, summary="Create an account",
        description="The e-mail is the login name; the password must pass the password rules.",
        responses={201: UserSerializer,
                   400: problem("`validation_error`: bad email, or a weak password (`errors.password`)."),
                   409: problem("`email_taken`: an account with this email exists.")},
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(PublicView):
    throttle_scope = "login_ip"

    @extend_schema(
        operation_id="auth_token", tags=["auth"], request=CredentialsSerializer, summary="Log in",
        description="Exchanges e-mail and password for a short-lived access token and a refresh token.",
        responses={200: TokenPairSerializer, 400: VALIDATION_ERROR,
                   401: problem("`invalid_credentials`: the same answer for an unknown email, a "
                                "wrong password and a deactivated account."),
                   429: problem("`too_many_attempts`: 5 failed logins for this email within 15 "
                                "minutes; `rate_limited`: too many logins from this client. "
                                "`Retry-After` says when to try again.")},
    )
    def post(self, request):
        serializer = CredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(services.log_in(**serializer.validated_data))


class TokenRefreshView(PublicView):
    @extend_schema(
        operation_id="auth_token_refresh", tags=["auth"], request=RefreshSerializer,
        summary="A new token pair for a refresh token",
        responses={200: TokenPairSerializer, 400: VALIDATION_ERROR, 401: TOKEN_INVALID},
        description="Rotates the refresh token: the one sent no longer works.",
    )
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(services.rotate_refresh_token(serializer.validated_data["refresh"]))


class LogoutView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        operation_id="auth_logout", tags=["auth"], request=RefreshSerializer, summary="Log out",
        description="Revokes the refresh token sent; access tokens expire on their own within minutes.",
        responses={204: None, 400: VALIDATION_ERROR,
                   401: problem("`not_authenticated` / `token_invalid` (the access token), or "
                                "`token_invalid`: the refresh token is not a live token of yours.")},
    )
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.log_out(serializer.validated_data["refresh"], user_id=request.user.id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(operation_id="users_me", tags=["users"], summary="Your account",
                   description="The account of the access token's user.",
                   responses={200: UserSerializer, 401: NOT_AUTHENTICATED})
    def get(self, request):
        return Response(UserSerializer(self._user(request)).data)

    @extend_schema(
        operation_id="users_me_update", tags=["users"], request=ProfileUpdateSerializer,
        summary="Change your name",
        responses={200: UserSerializer, 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED},
        description="Only `first_name` and `last_name` change; other fields sent are ignored.",
    )
    def patch(self, request):
        user_id = self._user(request).id
        serializer = ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.update_user(user_id, **serializer.validated_data)
        return Response(UserSerializer(user).data)

    def _user(self, request):
        """The token's user; a token outliving its (deleted or deactivated) account is refused."""
        try:
            user = selectors.get_user(request.user.id)
        except UserNotFound:
            raise TokenInvalid("The account of this token no longer exists.") from None
        if not user.is_active:
            raise TokenInvalid("The account of this token is deactivated.")
        return user


@extend_schema_view(get=extend_schema(
    operation_id="users_list", tags=["users"], summary="Find users (staff)",
    description="Every account, ordered by e-mail; `search` matches part of the e-mail or a name.",
    parameters=[OpenApiParameter("search", str, description="Part of an email, first or last name.")],
    responses={200: UserSerializer(many=True), 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED,
               403: PERMISSION_DENIED},
))
class UserListView(generics.ListAPIView):
    permission_classes = (IsStaff,)
    serializer_class = UserSerializer

    def get_queryset(self):
        return selectors.search_users(self.request.query_params.get("search", "").strip())


class UserDetailView(APIView):
    permission_classes = (IsStaff,)
    staff_errors = {401: NOT_AUTHENTICATED, 403: PERMISSION_DENIED, 404: NOT_FOUND}

    @extend_schema(operation_id="users_retrieve", tags=["users"], summary="One user (staff)",
                   description="Any account, active or not.",
                   responses={200: UserSerializer, **staff_errors})
    def get(self, request, user_id):
        return Response(UserSerializer(selectors.get_user(user_id)).data)

    @extend_schema(
        operation_id="users_update", tags=["users"], request=StaffUserUpdateSerializer,
        summary="Change a user's names or roles (staff)",
        responses={200: UserSerializer, 400: VALIDATION_ERROR, **staff_errors},
        description="`first_name`, `last_name`, `is_staff` and `is_active` change; `email` and `id` do not.",
    )
    def patch(self, request, user_id):
        serializer = StaffUserUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.update_user(user_id, **serializer.validated_data)
        return Response(UserSerializer(user).data)

    @extend_schema(operation_id="users_deactivate", tags=["users"], summary="Deactivate a user (staff)",
                   responses={204: None, **staff_errors},
                   description="Deactivates: the user can no longer log in or refresh tokens.")
    def delete(self, request, user_id):
        services.deactivate_user(user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
