from django.contrib import admin

from .models import ClosedPeriod, ExportJob


@admin.register(ClosedPeriod)
class ClosedPeriodAdmin(admin.ModelAdmin):
    list_display = ("label", "start", "end", "document_count", "closed_at", "closed_by")
    readonly_fields = [f.name for f in ClosedPeriod._meta.fields]

    def has_add_permission(self, request):
        return False  # closed from the accounting pages (accounting.services.period_close)

    def has_delete_permission(self, request, obj=None):
        return False  # reopening a period is not a click in admin


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "label", "status", "done", "total", "final", "requested_by", "created_at", "finished_at")
    list_filter = ("status", "final")
    readonly_fields = [f.name for f in ExportJob._meta.fields]

    def has_add_permission(self, request):
        return False
