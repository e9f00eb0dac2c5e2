"""Operators' view of the event plumbing: outbox backlogs, processed events and dead letters
(read-only; the admin site lists them under "Operations").

Loaded in every process by config.urls. Each publishing app registers its outbox with
`OutboxEventAdmin`, and each consuming app its processed events with `ProcessedEventAdmin`, in
its own admin module.
"""

from django.contrib import admin, messages
from django.db.models import Count, Min
from django.utils import timezone

from apps.common.events import dead_letters
from apps.common.models import DeadLetter


class ReadOnlyAdminMixin:
    """For a model admin or an inline whose rows only services write: staff look, never edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rows written by the plumbing: operators look, they do not edit."""


class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "type", "key", "topic", "sent_at", "attempts", "last_error"]
    list_filter = ["type", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["id", "key"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]

    def changelist_view(self, request, extra_context=None):
        backlog = self.model.objects.filter(sent_at__isnull=True).aggregate(
            unsent=Count("pk"), oldest=Min("created_at")
        )
        if backlog["unsent"]:
            age = timezone.now() - backlog["oldest"]
            self.message_user(
                request,
                f"Backlog: {backlog['unsent']} unsent event(s), oldest {int(age.total_seconds())} s old.",
                messages.WARNING,
            )
        else:
            self.message_user(request, "Backlog: every event has been relayed.", messages.INFO)
        return super().changelist_view(request, extra_context)


class ProcessedEventAdmin(ReadOnlyAdmin):
    list_display = ["processed_at", "type", "event_id"]
    list_filter = ["type", "processed_at"]
    search_fields = ["=event_id"]
    ordering = ["-processed_at"]
    show_full_result_count = False


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "consumer_app", "topic", "partition", "offset", "event_type",
                    "error", "replayed_at"]
    list_filter = ["consumer_app", "topic", ("replayed_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "key", "error"]
    actions = ["replay_selected"]

    @admin.action(description="Replay selected dead letters (republish to their topic)")
    def replay_selected(self, request, queryset):
        try:
            replayed, errors = dead_letters.replay(queryset)
        except Exception as exc:
            self.message_user(request, f"Replay failed: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Replayed {replayed} dead letter(s).", messages.SUCCESS)
        for error in errors:
            self.message_user(request, error, messages.ERROR)
