from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalogue"

    def ready(self):
        from . import checks  # noqa: F401  (registers the currency checks; imported once apps are loaded)
