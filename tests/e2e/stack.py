"""The whole shop as separate processes, as `make demo` runs it: the Stripe
emulator, gunicorn serving Django, and a Celery worker, on free ports, with a
database and var/ of their own. Used by the browser tests and the benchmarks.

The database follows DATABASE_URL: on PostgreSQL a fresh database is created
next to the configured one (and dropped afterwards); otherwise SQLite in the
stack's directory. Redis is used as the broker when REDIS_URL is set.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
            last = error
        except OSError as error:
            last = error
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout}s: {last}")


class Stack:
    def __init__(self, directory: Path, *, worker: bool = True, web_workers: int = 2, threads: int = 4,
                 worker_concurrency: int = 2, create_database=None):
        self.dir = Path(directory)
        # A function given the new database's name (PostgreSQL) or file (SQLite)
        # that creates it already migrated (the tests copy their template,
        # tests/db_template.py); without one it is migrated from nothing.
        self.create_database = create_database
        self.worker = worker
        self.web_workers = web_workers
        self.threads = threads
        self.worker_concurrency = worker_concurrency
        self.web_port = free_port()
        self.emulator_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.emulator_url = f"http://127.0.0.1:{self.emulator_port}"
        self.mail_dir = self.dir / "mail"
        self.logs = self.dir / "logs"
        self.processes: dict[str, subprocess.Popen] = {}
        self._pg_database = None
        self.env = self._environment()

    # -- set-up -------------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.local",
            DJANGO_DEBUG="false",
            DJANGO_SECRET_KEY="e2e-not-secret",
            VAR_DIR=str(self.dir / "var"),
            SITE_URL=self.url,
            STRIPE_API_BASE=self.emulator_url,
            STRIPE_EMULATOR_PUBLIC_URL=self.emulator_url,
            STRIPE_TEST_SECRET_KEY="sk_test_emulatorOfflineShopKey000000000",
            EMAIL_URL=f"filemail:///{self.mail_dir}",
            CELERY_TASK_ALWAYS_EAGER="false",
            PYTHONUNBUFFERED="1",
        )
        env.pop("DEMO_PASSWORD", None)  # the seeded logins keep their documented passwords
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url.startswith(("postgres://", "postgresql://")):
            # CREATE/DROP DATABASE from the server's maintenance database:
            # the configured database need not exist.
            self._pg_server = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
            self._pg_database = f"shop_e2e_{uuid.uuid4().hex[:8]}"
            parts = urlsplit(database_url)
            env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{self._pg_database}"))
        else:
            env["DATABASE_URL"] = f"sqlite:///{self.dir / 'var' / 'db.sqlite3'}"
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
            # Its own keys: its worker must not take the tasks of another
            # stack or of a test's worker sharing this Redis (nor they its).
            env["REDIS_KEY_PREFIX"] = os.environ.get("REDIS_KEY_PREFIX", "") + f"stack-{uuid.uuid4().hex[:8]}:"
        else:
            env.pop("REDIS_URL", None)
        return env

    def _pg(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self._pg_server, autocommit=True) as conn:
            conn.execute(sql)

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "w")
        self.processes[name] = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start(self) -> "Stack":
        for d in (self.dir / "var", self.mail_dir, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        if self.create_database:
            self.create_database(self._pg_database or str(self.dir / "var" / "db.sqlite3"))
        elif self._pg_database:
            self._pg(f'CREATE DATABASE "{self._pg_database}"')
        # With a migrated copy, this checks there is nothing left to apply.
        self.manage("migrate", "--noinput", timeout=900)  # a loaded CI machine takes minutes
        self.manage("collectstatic", "--noinput", "--verbosity", "0")
        self.manage("seed_shop")
        self._spawn("emulator", [PYTHON, "-m", "stripe_emulator", "--host", "127.0.0.1",
                                 "--port", str(self.emulator_port), "--api-key", "sk_test_emulatorOfflineShopKey000000000",
                                 "--public-url", self.emulator_url, "--state", str(self.dir / "var" / "emulator.json")])
        wait_http(f"{self.emulator_url}/_emulator/health")
        self.manage("stripe_webhook_register", "--base-url", self.url)
        self.manage("stripe_sync_plans")  # subscription plans at the emulator, mirrored
        self._spawn("web", [str(Path(PYTHON).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{self.web_port}",
                            "--workers", str(self.web_workers), "--threads", str(self.threads),
                            "--access-logfile", "-"])
        if self.worker:
            self._spawn("worker", [str(Path(PYTHON).parent / "celery"), "-A", "config", "worker", "--loglevel=INFO",
                                   f"--concurrency={self.worker_concurrency}", "--without-mingle", "--without-gossip",
                                   "--without-heartbeat"])
        wait_http(self.url + "/")
        return self

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()
        if self._pg_database:
            self._pg(f'DROP DATABASE IF EXISTS "{self._pg_database}" WITH (FORCE)')

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def mails(self) -> list[str]:
        return [p.read_text(errors="replace") for p in sorted(self.mail_dir.glob("*.log"))]

    def copy_logs(self, destination: Path) -> None:
        destination.mkdir(parents=True, exist_ok=True)
        for path in self.logs.glob("*.log"):
            shutil.copy(path, destination / path.name)
