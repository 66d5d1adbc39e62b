"""Settings as each entry point loads them: DEBUG only when asked for, and
production settings that pass Django's deployment checks without a warning."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_"))}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True,
                          timeout=120)


PRINT_DEBUG = "from django.conf import settings; print('DEBUG', settings.DEBUG)"


@pytest.mark.parametrize("entry", [
    ["manage.py", "shell", "-c", PRINT_DEBUG],
    ["-c", "import config.wsgi; " + PRINT_DEBUG],
    ["-c", "import config.celery, django; django.setup(); " + PRINT_DEBUG],
])
def test_debug_is_off_unless_asked_for(entry):
    assert "DEBUG False" in _run(entry).stdout
    assert "DEBUG True" in _run(entry, DJANGO_DEBUG="true").stdout


def test_a_missing_page_under_the_default_settings_shows_no_debug_page():
    script = ("from django.test import Client; r = Client().get('/no-such-page/', HTTP_HOST='127.0.0.1');"
              "print(r.status_code); print(r.content.decode())")
    out = _run(["manage.py", "shell", "-c", script]).stdout
    assert "\n404\n" in out and "We could not find this page" in out and "URLconf" not in out and "Traceback" not in out


def test_check_deploy_is_clean_with_production_settings():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SETTINGS_MODULE="config.settings.production", DJANGO_ALLOWED_HOSTS="shop.example.com",
        DJANGO_SECRET_KEY="a-long-random-production-secret-key-" + "x7Gq2pLm9" * 6,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_ci_runs_the_deployment_checks():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "check --deploy --fail-level WARNING" in ci and "config.settings.production" in ci
