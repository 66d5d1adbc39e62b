"""Checkout under a rush, over HTTP, against gunicorn run as the Procfile runs
it (workers and threads read from the Procfile; --workers/--threads to try
others) with the Stripe emulator in its own process. Two rushes in one run, each of N buyers (default 100) posting the checkout form at
the same moment:

- scarcity: N buyers for a few units (--stock, default 10) of one product: no
  unit sold twice (0 oversell, checked in the database), the others refused
  (sent back to their cart, "out of stock") before any transaction;
- capacity: N buyers for as many units (--capacity-stock, default N): every
  checkout places an order and opens a Checkout Session at the emulator, so
  its orders/s (orders placed / the rush's wall time) is the throughput figure.

    .venv/bin/python bench/bench_checkout.py [--buyers 100] [--stock 10] [--capacity-stock 100]

Each buyer is a browser of its own (cookies, CSRF token): it opens the
product page and puts one unit in its cart while there is stock for all;
then every buyer of the rush posts the checkout form at once. A buyer who
gets a unit is sent (303) to Stripe's payment page.

Prints and writes bench/results/checkout.json, per rush: orders placed, orders/s
and checkouts answered/s over the rush's wall time, p50/p95 time to reach the
payment page and to be refused, the most database connections seen during the
rush (PostgreSQL; gunicorn keeps one per thread: at most 8), and the CPU time
each process used per checkout posted (gunicorn, emulator, PostgreSQL backends,
this client) with the machine's busy cores during the rush and how many of them
went to other jobs (2 cores: what bounds the rate). For the scarcity rush also the rate while selling: orders placed / the
time from the rush's start until the last unit was taken (the last order's
creation time; also from the last winner's response). Baseline of the same run:
the same N buyers opening the product page at the same moment. Exit status 1 on
any oversell or error.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, BenchDatabase, report, setup_django, summary_ms  # noqa: E402

API_KEY = "sk_test_emulatorOfflineShopKey000000000"
FORM = {"billing_name": "Bench Buyer", "billing_company": "", "billing_line1": "1 rue du Banc",
        "billing_postal_code": "75001", "billing_city": "Paris", "billing_country": "FR", "vat_id": ""}


def procfile_gunicorn() -> tuple[int, int]:
    """(workers, threads) as the Procfile runs gunicorn."""
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    workers, threads = re.search(r"--workers (\d+)", web), re.search(r"--threads (\d+)", web)
    return int(workers.group(1)) if workers else 1, int(threads.group(1)) if threads else 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Buyer:
    """One browser: its own cookies, never following redirects."""

    def __init__(self, base: str, n: int):
        self.base, self.n = base, n
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect)

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.headers.get("Location", ""), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode(errors="replace")

    def csrf(self) -> str:
        return next(c.value for c in self.cookies if c.name == "csrftoken")

    def fill_cart(self, product_path: str, product_id: int) -> None:
        status, _, _ = self.request(product_path)
        assert status == 200, status
        status, _, _ = self.request("/cart/add/", {"csrfmiddlewaretoken": self.csrf(), "product_id": product_id,
                                                  "quantity": 1})
        assert status == 302, status
        status, _, page = self.request("/checkout/")
        assert status == 200, status
        self.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def check_out(self) -> tuple[str, float]:
        started = time.perf_counter()
        status, location, _ = self.request("/checkout/", {"csrfmiddlewaretoken": self.token,
                                                          "email": f"buyer{self.n}@example.com", **FORM})
        elapsed = time.perf_counter() - started
        if status == 303 and location and not location.startswith(self.base):  # to Stripe's page
            return "paying", elapsed
        if status == 302 and location.endswith("/cart/"):
            return "refused", elapsed
        return f"unexpected {status} {location}", elapsed


def rush(buyers: list, action) -> tuple[list, float, float]:
    """Every buyer does `action` at the same moment; (results, wall seconds,
    the start as a Unix time)."""
    barrier = threading.Barrier(len(buyers) + 1)
    results = [None] * len(buyers)

    def run(i):
        barrier.wait()
        try:
            results[i] = action(buyers[i])
        except Exception as error:  # noqa: BLE001 - reported
            results[i] = (f"error {error!r}", 0.0)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(buyers))]
    for t in threads:
        t.start()
    barrier.wait()
    started, started_at = time.perf_counter(), time.time()
    for t in threads:
        t.join()
    return results, time.perf_counter() - started, started_at


class ConnectionWatch:
    """The most connections to the bench database seen, sampled every 20 ms,
    and the server processes (PostgreSQL backends) behind them."""

    def __init__(self, db: BenchDatabase):
        self.db, self.most, self.pids, self._stop = db, 0, set(), threading.Event()

    def __enter__(self):
        if self.db.pg_server:
            self.pids = self.backends()
            self.thread = threading.Thread(target=self._watch, daemon=True)
            self.thread.start()
        return self

    def backends(self) -> set[int]:
        import psycopg

        with psycopg.connect(self.db.pg_server, autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db.name,))
            return {pid for (pid,) in rows}

    def _watch(self):
        import psycopg

        with psycopg.connect(self.db.pg_server, autocommit=True) as conn:
            while not self._stop.is_set():
                rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                    (self.db.name,)).fetchall()
                self.most = max(self.most, len(rows))
                self.pids |= {pid for (pid,) in rows}
                time.sleep(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        if self.db.pg_server:
            self.thread.join()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values[:8]) - idle) / tick, sum(values[:8]) / tick


class CpuWatch:
    """CPU seconds used during a rush by gunicorn (master and workers), the
    emulator, the database's backends and this client, and by the whole
    machine (everything else on it included)."""

    def __init__(self, gunicorn: subprocess.Popen, emulator: subprocess.Popen, connections: ConnectionWatch):
        self.gunicorn, self.emulator, self.connections = gunicorn, emulator, connections

    def _sample(self) -> dict:
        gunicorn = [self.gunicorn.pid, *_children(self.gunicorn.pid)]
        own = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "gunicorn": sum(_cpu_seconds(pid) for pid in gunicorn),
            "emulator": _cpu_seconds(self.emulator.pid),
            "postgresql": {pid: _cpu_seconds(pid) for pid in self.connections.pids},
            "client": own.ru_utime + own.ru_stime,
            "machine": _machine_busy(),
        }

    def __enter__(self):
        self.before = self._sample()
        return self

    def __exit__(self, *exc):
        self.connections.pids |= self.connections.backends() if self.connections.db.pg_server else set()
        self.after = self._sample()

    def per_checkout_ms(self, checkouts: int, wall: float) -> dict:
        b, a = self.before, self.after
        used = {name: a[name] - b[name] for name in ("gunicorn", "emulator", "client")}
        used["postgresql"] = sum(cpu - b["postgresql"].get(pid, 0.0) for pid, cpu in a["postgresql"].items())
        busy, total = a["machine"][0] - b["machine"][0], a["machine"][1] - b["machine"][1]
        ours = sum(used.values())
        figures = {f"{name}_ms": round(1000 * seconds / max(checkouts, 1), 2) for name, seconds in used.items()}
        figures["all_four_ms"] = round(1000 * ours / max(checkouts, 1), 2)
        figures["machine_busy_pct"] = round(100 * busy / total, 1) if total else None
        figures["machine_busy_cores"] = round(busy / wall, 2) if wall else None
        figures["others_on_machine_cores"] = round(max(0.0, busy - ours) / wall, 2) if wall else None
        return figures


def check_out_rush(buyers: list, product, watch_db: BenchDatabase, gunicorn, emulator) -> dict:
    """Every buyer posts the checkout form at once; the rush's figures, checked in the database."""
    from django.db import connections

    from orders.models import Order

    stock = product.stock
    with ConnectionWatch(watch_db) as watch, CpuWatch(gunicorn, emulator, watch) as cpu:
        results, wall, started_at = rush(buyers, Buyer.check_out)
    paying = [t for outcome, t in results if outcome == "paying"]
    refused = [t for outcome, t in results if outcome == "refused"]
    errors = [outcome for outcome, _ in results if outcome not in ("paying", "refused")]
    product.refresh_from_db()
    orders = Order.objects.filter(lines__product=product)
    placed = orders.count()
    units = sum(orders.values_list("lines__quantity", flat=True))
    oversold = max(0, units - stock) + (1 if product.stock + units != stock else 0)
    figures = {
        "buyers": len(buyers),
        "stock": stock,
        "orders_placed": placed,
        "reached_payment_page": len(paying),
        "refused_out_of_stock": len(refused),
        "errors": errors[:5],
        "error_count": len(errors),
        "oversold_units": oversold,
        "rush_wall_s": round(wall, 3),
        "orders_per_s": round(placed / wall, 1),
        "checkouts_answered_per_s": round((len(paying) + len(refused)) / wall, 1),
        "to_payment_page": summary_ms(paying),
        "to_refusal": summary_ms(refused) if refused else None,
        "most_db_connections": watch.most if watch_db.pg_server else None,
        "cpu_per_checkout": cpu.per_checkout_ms(len(buyers), wall),
    }
    if placed and stock < len(buyers):
        # When the stock ran out: the last unit taken (its order's creation
        # time, a few statements before the stock UPDATE and the commit) and
        # the last winner's answer.
        last = max(orders.values_list("created_at", flat=True))
        sold_out = last.timestamp() - started_at
        last_answer = max(paying) if paying else None
        figures["selling"] = {
            "sold_out_after_s": round(sold_out, 3),
            "orders_per_s": round(placed / sold_out, 1) if sold_out > 0 else None,
            "last_winner_answered_after_s": round(last_answer, 3) if last_answer else None,
            "orders_per_s_by_last_winner": round(placed / last_answer, 1) if last_answer else None,
        }
    connections.close_all()  # this client's own connection is not counted in the next rush
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=100)
    parser.add_argument("--stock", type=int, default=10, help="units for the scarcity rush")
    parser.add_argument("--capacity-stock", type=int, default=None,
                        help="units for the capacity rush (default: as many as buyers)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the Procfile's)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: the Procfile's)")
    args = parser.parse_args()
    workers, threads = procfile_gunicorn()
    workers, threads = args.workers or workers, args.threads or threads
    capacity_stock = args.capacity_stock if args.capacity_stock is not None else args.buyers
    processes = []
    with BenchDatabase() as db:
        setup_django(db.url)
        from django.db import connections

        from catalog.models import Category, Product, TaxRate

        category = Category.objects.create(name="Bench", slug="bench")
        rate = TaxRate.objects.create(name="Standard", rate="20.00", country="FR")
        scarce = Product.objects.create(category=category, tax_rate=rate, name="Scarce thing", slug="scarce",
                                        sku="SCARCE-1", unit_amount=1999, currency="eur", stock=args.stock)
        plenty = Product.objects.create(category=category, tax_rate=rate, name="Plenty thing", slug="plenty",
                                        sku="PLENTY-1", unit_amount=2499, currency="eur", stock=capacity_stock)
        connections.close_all()
        emulator_port, web_port = free_port(), free_port()
        emulator_url, base = f"http://127.0.0.1:{emulator_port}", f"http://127.0.0.1:{web_port}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false",
               "DATABASE_URL": db.url, "STRIPE_API_BASE": emulator_url, "SITE_URL": base, "LOG_LEVEL": "WARNING",
               "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "VAR_DIR": db.tmp.name}
        try:
            emulator = subprocess.Popen(
                [sys.executable, "-m", "stripe_emulator", "--host", "127.0.0.1", "--port", str(emulator_port),
                 "--api-key", API_KEY, "--state", f"{db.tmp.name}/emulator.json", "--log-level", "WARNING"],
                cwd=ROOT, env=env)
            processes.append(emulator)
            gunicorn = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{web_port}",
                 "--workers", str(workers), "--threads", str(threads), "--log-level", "warning"],
                cwd=ROOT, env=env)
            processes.append(gunicorn)
            wait_for(emulator_url + "/v1/balance")
            wait_for(base + "/")

            # Every buyer warms up (and a unit is in each cart while the stock lasts).
            scarcity_buyers = [Buyer(base, n) for n in range(args.buyers)]
            for buyer in scarcity_buyers:
                buyer.fill_cart(scarce.get_absolute_url(), scarce.pk)
            capacity_buyers = [Buyer(base, args.buyers + n) for n in range(args.buyers)]
            for buyer in capacity_buyers:
                buyer.fill_cart(plenty.get_absolute_url(), plenty.pk)
            baseline, baseline_wall, _ = rush(scarcity_buyers,
                                              lambda b: ("page", _timed(b, scarce.get_absolute_url())))
            scarcity = check_out_rush(scarcity_buyers, scarce, db, gunicorn, emulator)
            capacity = check_out_rush(capacity_buyers, plenty, db, gunicorn, emulator)
        finally:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                process.wait(timeout=30)

        figures = {
            "database": db.kind,
            "server": f"gunicorn, {workers} workers x {threads} threads",
            "as_procfile": (workers, threads) == procfile_gunicorn(),
            "buyers": args.buyers,
            "capacity_orders_per_s": capacity["orders_per_s"],
            "scarcity_orders_per_s_while_selling": (scarcity.get("selling") or {}).get("orders_per_s"),
            "oversold_units": scarcity["oversold_units"] + capacity["oversold_units"],
            "scarcity": scarcity,
            "capacity": capacity,
            "baseline_product_page": {"wall_s": round(baseline_wall, 3),
                                      "requests_per_s": round(args.buyers / baseline_wall, 1),
                                      **summary_ms([t for _, t in baseline])},
        }
        connections.close_all()
        report("checkout", figures)
        failed = figures["oversold_units"] or scarcity["error_count"] or capacity["error_count"]
        return 1 if failed else 0


def _timed(buyer: Buyer, path: str) -> float:
    started = time.perf_counter()
    status, _, _ = buyer.request(path)
    assert status == 200, status
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
