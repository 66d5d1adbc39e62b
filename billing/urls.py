from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("<int:pk>/pdf/", views.document_pdf, name="document_pdf"),
]
