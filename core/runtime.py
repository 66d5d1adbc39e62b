"""Folders the configuration needs on this machine (the SQLite file and the
file broker of the embedded defaults, the static files' root that WhiteNoise
serves), created when Django starts rather than when settings are imported:
importing settings has no side effect."""

from pathlib import Path

from django.conf import settings


def local_directories() -> list[Path]:
    """The folders the configured services keep their files in."""
    folders: list[Path] = [Path(settings.STATIC_ROOT)]
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        for name in (database.get("NAME"), (database.get("TEST") or {}).get("NAME")):
            if name and str(name) != ":memory:" and not str(name).startswith("file:"):
                folders.append(Path(name).parent)
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    if "data_folder_in" in options:  # the file broker (config/broker.py)
        folders += [Path(options[key]) for key in ("data_folder_in", "data_folder_out", "control_folder")]
    return folders


def ensure_local_directories() -> None:
    for folder in local_directories():
        folder.mkdir(parents=True, exist_ok=True)
