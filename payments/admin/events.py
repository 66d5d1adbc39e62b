"""The webhook inbox in admin: every stored Stripe event with its status, and
for a stuck one its error and a "Run again" button (and list action)."""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin

from .. import inbox, tasks
from ..models import WebhookEvent

RUN_PERMISSION = "payments.run_webhookevent"


def _run_again(event_ids) -> int:
    queued = 0
    for event_id in event_ids:
        if inbox.event_run_again(event_id=event_id):
            tasks.process_webhook_event.delay_on_commit(event_id)
            queued += 1
    return queued


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("stripe_id", "type", "status", "attempts", "received_at", "processed_at", "error_line")
    list_filter = ("status", "type")
    search_fields = ("=stripe_id", "type")
    date_hierarchy = "received_at"
    fields = ("stripe_id", "type", "status", "attempts", "received_at", "next_attempt_at", "locked_until",
              "processed_at", "error", "payload")
    readonly_fields = fields
    actions = ["run_again"]

    @admin.display(description="Last error")
    def error_line(self, obj):
        lines = [line for line in obj.last_error.strip().splitlines() if line.strip()]
        return lines[-1][:200] if lines else ""

    @admin.display(description="Error")
    def error(self, obj):
        return format_html("<pre style=\"white-space: pre-wrap\">{}</pre>", obj.last_error) if obj.last_error else "—"

    @admin.display(description="Event as received")
    def payload(self, obj):
        try:
            text = json.dumps(json.loads(obj.body), indent=2)
        except ValueError:
            text = obj.body
        return format_html("<pre style=\"white-space: pre-wrap\">{}</pre>", text)

    @admin.action(description="Run again (stuck or failed events)", permissions=["run"])
    def run_again(self, request, queryset):
        queued = _run_again(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{queued} event(s) queued to run again.", messages.SUCCESS)

    def has_run_permission(self, request):
        return request.user.has_perm(RUN_PERMISSION)

    def get_urls(self):
        return [
            path("<path:object_id>/run-again/", self.admin_site.admin_view(self.run_again_view),
                 name="payments_webhookevent_run_again"),
        ] + super().get_urls()

    def run_again_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_run_permission(request):
            raise PermissionDenied
        event = self.get_object(request, object_id)
        if event is None:
            raise Http404("No such webhook event.")
        if _run_again([event.pk]):
            self.message_user(request, f"Event {event.stripe_id} queued to run again.", messages.SUCCESS)
        else:
            self.message_user(request, f"Event {event.stripe_id} is {event.get_status_display().lower()}: "
                                       "nothing to run again.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:payments_webhookevent_change", args=[event.pk]))
