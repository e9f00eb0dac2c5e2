"""Admin for this app; imported by config.urls only where the app is served."""

from django.contrib import admin

from apps.common.admin import OutboxEventAdmin
from apps.payments.models import OutboxEvent

admin.site.register(OutboxEvent, OutboxEventAdmin)
