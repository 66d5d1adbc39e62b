"""Shared set-up for benchmarks: Django on a throwaway database (PostgreSQL
when DATABASE_URL names one, else SQLite in a temp dir), figures printed as a
table and written to bench/results/<name>.json."""

import contextlib
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


class SizedDatabases:
    """Two throwaway databases (see BenchDatabase) for a benchmark comparing a
    baseline size with a large one: Django set up on the first, both migrated,
    and `use(size)` pointing Django's connection at one of them, so that the
    two sizes can be measured alternately (whatever else runs on the machine
    then weighs on both)."""

    def __init__(self, small: int, large: int):
        self.small, self.large = small, large
        self._databases = {small: BenchDatabase(), large: BenchDatabase()}
        self._names: dict[int, str] = {}
        self._stack = contextlib.ExitStack()

    @property
    def kind(self) -> str:
        return self._databases[self.small].kind

    def __enter__(self):
        for database in self._databases.values():
            self._stack.enter_context(database)
        try:
            setup_django(self._databases[self.small].url)
            from django.core.management import call_command
            from django.test.utils import setup_test_environment

            setup_test_environment()
            for size, database in self._databases.items():
                self._names[size] = database.name if database.pg_server else database.url.removeprefix("sqlite:///")
            self.use(self.large)
            call_command("migrate", verbosity=0)
            self.use(self.small)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc):
        self.use(self.small)
        return self._stack.__exit__(*exc)

    def use(self, size: int) -> None:
        """Point Django's connection at the database of `size`."""
        from django.db import connections

        connection = connections["default"]
        connection.close()
        connection.settings_dict["NAME"] = self._names[size]

    def settle(self) -> None:
        """After a bulk load, what a live PostgreSQL server's autovacuum does
        within a minute (this machine's server runs with it off): planner
        statistics and the visibility map. Without them the planner guesses
        table sizes and reads whole tables where an index would do."""
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")


def measure_request(client, url: str) -> tuple[float, int, float]:
    """(seconds, SQL queries, seconds spent in SQL) of one GET through the test
    client, streamed bodies read to the end; anything but 200 stops the run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, len(captured), sum(float(q["time"]) for q in captured.captured_queries)


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


def report_sizes(name: str, databases: SizedDatabases, *, repeat: int, results: dict, comparison: dict, ok: bool,
                 **extra) -> int:
    """Write a SizedDatabases benchmark's figures (see report); its exit status."""
    report(name, {"database": databases.kind, "repeat": repeat, **extra,
                  "sizes": {str(size): figures for size, figures in results.items()},
                  "comparison": comparison, "ok": ok})
    return 0 if ok else 1
