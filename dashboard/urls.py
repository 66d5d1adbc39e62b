"""Mounted at /admin/dashboard/ (before the admin's own URLs), behind the admin's login."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", admin.site.admin_view(views.dashboard), name="index"),
    path("csv/<slug:key>/", admin.site.admin_view(views.chart_csv), name="csv"),
]
