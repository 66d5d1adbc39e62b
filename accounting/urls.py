from django.urls import path

from . import views

app_name = "accounting"

urlpatterns = [
    path("", views.document_list, name="document_list"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/status/", views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("periods/", views.period_list, name="period_list"),
    path("audit/", views.number_audit, name="audit"),
]
