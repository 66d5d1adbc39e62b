"""A migrated, empty database to copy test databases from.

Migrating from nothing takes a minute of CPU (most of it Django re-rendering
dj-stripe's models for each of the 514 fields its 0002 migration removes).
Instead of paying that in every process that needs a fresh database (each
pytest-xdist worker, the browser tests' stack), the migrations run once into a
template database, and each of them gets a copy: PostgreSQL's
`CREATE DATABASE ... TEMPLATE`, or a file copy for SQLite.

The template's name carries a hash of everything the migrations depend on
(every installed app's migration files, the settings modules, Django's
version), so a changed migration makes a new template and a stale one is never
copied; older templates of the same database are dropped. It is created under
a temporary name and renamed when complete, under a file lock, so concurrent
workers build it once and never copy a half-migrated one.
"""

import fcntl
import hashlib
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.db import connections

ROOT = Path(__file__).resolve().parents[1]


def _fingerprint() -> str:
    digest = hashlib.sha256(django.get_version().encode())
    files = [ROOT / "config" / "settings" / "base.py", ROOT / "config" / "settings" / "test.py"]
    for app in sorted(apps.get_app_configs(), key=lambda a: a.label):
        files += sorted((Path(app.path) / "migrations").glob("*.py"))
    for path in files:
        digest.update(str(path.relative_to(path.parents[1])).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _is_sqlite(connection) -> bool:
    return connection.vendor == "sqlite"


def _template_name(connection) -> str:
    """Next to the test database: `test_shop_tpl_<hash>`, or var/test-db-template-<hash>.sqlite3."""
    if _is_sqlite(connection):
        return str(Path(settings.VAR_DIR) / f"test-db-template-{_fingerprint()}.sqlite3")
    base = connection.settings_dict["TEST"].get("NAME") or f"test_{connection.settings_dict['NAME']}"
    # pytest-xdist's workers add _gw0, _gw1... to the test database's name: one template for all.
    base = re.sub(r"_gw\d+$", "", base)
    return f"{base[:40]}_tpl_{_fingerprint()}"


def _lock_path(name: str) -> Path:
    """Machine-wide (two checkouts may share a PostgreSQL server), one per template."""
    return Path(tempfile.gettempdir()) / f"{Path(name).name}.lock"


@contextmanager
def _locked(name: str):
    with open(_lock_path(name), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pg_databases(connection) -> set[str]:
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database")
        return {row[0] for row in cursor.fetchall()}


def _pg_execute(connection, *statements: str) -> None:
    with connection.creation._nodb_cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _exists(connection, name: str) -> bool:
    return Path(name).exists() if _is_sqlite(connection) else name in _pg_databases(connection)


def _migrate_into(connection, name: str) -> None:
    """Create database `name` and run every migration in it (Django's own test database creation)."""
    saved_test_name = connection.settings_dict["TEST"].get("NAME")
    saved_name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = name
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    finally:
        connection.close()
        connection.settings_dict["TEST"]["NAME"] = saved_test_name
        connection.settings_dict["NAME"] = saved_name
        settings.DATABASES[connection.alias]["NAME"] = saved_name


def _drop_older_templates(connection, keep: str) -> None:
    if _is_sqlite(connection):
        for path in Path(keep).parent.glob("test-db-template-*.sqlite3*"):
            if not path.name.startswith(Path(keep).name):
                path.unlink(missing_ok=True)
                _lock_path(str(path)).unlink(missing_ok=True)
        return
    prefix = keep.rsplit("_tpl_", 1)[0] + "_tpl_"
    for name in _pg_databases(connection):
        if name.startswith(prefix) and name != keep:
            _pg_execute(connection, f'DROP DATABASE IF EXISTS "{name}"')
            _lock_path(name).unlink(missing_ok=True)


def ensure_template(alias: str = "default") -> str:
    """The template's name (a database, or an SQLite file), migrating it if it does not exist yet."""
    connection = connections[alias]
    name = _template_name(connection)
    with _locked(name):
        if not _exists(connection, name):
            building = name + ".building" if _is_sqlite(connection) else name.replace("_tpl_", "_bld_")
            _migrate_into(connection, building)
            if _is_sqlite(connection):
                shutil.move(building, name)
            else:
                _pg_execute(connection, f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            _drop_older_templates(connection, keep=name)
    return name


def copy_template(target: str, alias: str = "default") -> None:
    """Database `target` (dropped first if it exists) as a copy of the template."""
    connection = connections[alias]
    template = ensure_template(alias)
    # Under the lock: PostgreSQL refuses to copy a template another session is
    # connected to, and a copy must never meet a template being replaced.
    with _locked(template):
        if _is_sqlite(connection):
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(target + suffix).unlink(missing_ok=True)
            shutil.copyfile(template, target)
        else:
            _pg_execute(connection, f'DROP DATABASE IF EXISTS "{target}"',
                        f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
