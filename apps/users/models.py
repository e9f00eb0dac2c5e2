import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone

from apps.common.events.outbox import ProcessedEventBase

# The database alias of users' tables, where users is served (elsewhere `default` holds only admin
# staff rows).
DB = "users"


def normalize_email(email: str) -> str:
    """Emails are case-insensitive here: stored, looked up and throttled in lower case."""
    return email.strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    """A shopper or a staff member; the email is the login name.

    Roles are `is_staff` (and `is_superuser` for the admin); there are no per-object Django
    permissions, so the user table has no relation to the framework's auth tables and can live in
    the users database on its own.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_superuser = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name

    # Staff may do everything in the admin; shoppers nothing.
    def has_perm(self, perm, obj=None):
        return self.is_active and self.is_staff

    def has_perms(self, perm_list, obj=None):
        return self.has_perm(None)

    def has_module_perms(self, app_label):
        return self.is_active and self.is_staff


class ProcessedEvent(ProcessedEventBase):
    """Payment events users has handled (receipt e-mails), so a redelivery sends none again."""
