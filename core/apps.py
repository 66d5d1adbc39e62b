from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: money, plain data types, the e-mail helper,
    admin mixins, the ApplicationError base. Imports no other app of ours."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from .runtime import ensure_local_directories

        ensure_local_directories()
