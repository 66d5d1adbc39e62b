from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self):
        # drf-spectacular learns how our token authentication looks in the schema.
        from . import schema  # noqa: F401
