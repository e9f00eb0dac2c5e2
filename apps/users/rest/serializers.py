from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.users.models import User, normalize_email


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("id", "email", "first_name", "last_name", "is_staff", "is_active", "date_joined")
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=256)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def validate_email(self, value):
        return normalize_email(value)

    def validate(self, attrs):
        # Django's validators, including "too similar to your email or name".
        candidate = User(email=attrs["email"], first_name=attrs["first_name"],
                         last_name=attrs["last_name"])
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs


class CredentialsSerializer(serializers.Serializer):
    # Any string: a malformed email gets the same 401 as a wrong one.
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=256)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="RS256 JWT, valid for minutes; send as `Bearer`.")
    refresh = serializers.CharField(help_text="Single use: refreshing rotates it.")


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class ProfileUpdateSerializer(serializers.Serializer):
    """What a user may change about themselves; any other field sent is ignored."""

    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class StaffUserUpdateSerializer(ProfileUpdateSerializer):
    """What staff may change about any user (the email, the login name, stays)."""

    is_staff = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)
