import pytest


@pytest.fixture(autouse=True)
def billing_media_root(settings, tmp_path):
    """PDFs go to a per-test directory, never into var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://shop.example.com"
    return settings.MEDIA_ROOT
