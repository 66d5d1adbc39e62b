"""Shared set-up for benchmarks: Django on a throwaway database (PostgreSQL
when DATABASE_URL names one, else SQLite in a temp dir), figures printed as a
table and written to bench/results/<name>.json."""

import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))


class BenchDatabase:
    """A fresh database for one benchmark run, dropped afterwards."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-")
        self.pg_server = None
        self.name = None
        url = os.environ.get("DATABASE_URL", "")
        if url.startswith(("postgres://", "postgresql://")):
            # CREATE/DROP DATABASE from the server's maintenance database,
            # named after DATABASE_URL's database (h_me -> h_me_1a2b3c4d) so
            # that whoever owns that name owns the benchmark's databases too.
            self.pg_server = urlunsplit(urlsplit(url)._replace(path="/postgres"))
            prefix = urlsplit(url).path.strip("/") or "shop_bench"
            self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
            self.url = urlunsplit(urlsplit(url)._replace(path=f"/{self.name}"))
        else:
            self.url = f"sqlite:///{self.tmp.name}/bench.sqlite3"

    @property
    def kind(self) -> str:
        return "postgresql" if self.pg_server else "sqlite"

    def _pg(self, sql):
        import psycopg

        with psycopg.connect(self.pg_server, autocommit=True) as conn:
            conn.execute(sql)

    def __enter__(self):
        if self.pg_server:
            self._pg(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc):
        if self.pg_server:
            from django.db import connections

            connections.close_all()
            self._pg(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.tmp.cleanup()


def setup_django(database_url: str, **env) -> None:
    """Django with the test settings on the given database, migrated."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("VAR_DIR", str(Path(tempfile.mkdtemp(prefix="bench-var-"))))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values, p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
    }


def report(name: str, figures: dict) -> None:
    figures = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        **figures,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(f"written to {RESULTS / f'{name}.json'}")
