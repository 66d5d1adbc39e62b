"""Checkout under a rush, over HTTP: N buyers (default 100) for a few units
(default 10) of one product, against gunicorn run as the Procfile runs it
(2 workers x 4 threads) with the Stripe emulator in its own process.

    .venv/bin/python bench/bench_checkout.py [--buyers 100] [--stock 10]

Each buyer is a browser of its own (cookies, CSRF token): it opens the
product page and puts one unit in its cart while there is stock for all;
then every buyer posts the checkout form at the same moment. A buyer who gets
a unit is sent (303) to Stripe's payment page; the others are sent back to
their cart with "out of stock".

Prints and writes bench/results/checkout.json: orders placed (never more than
the stock: 0 oversell, checked in the database), orders/s and checkouts
answered/s over the rush, p50/p95 time to reach the payment page (winners)
and to be refused (the others), the most database connections seen during
the rush (PostgreSQL; gunicorn keeps one per thread: at most 8), and the
baseline of the same run: the same N buyers opening the product page at the
same moment. Exit status 1 on any oversell or error.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
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
WORKERS, THREADS = 2, 4  # as the Procfile runs gunicorn


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


def rush(buyers: list, action) -> tuple[list, float]:
    """Every buyer does `action` at the same moment; (results, wall seconds)."""
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
    started = time.perf_counter()
    for t in threads:
        t.join()
    return results, time.perf_counter() - started


class ConnectionWatch:
    """The most connections to the bench database seen, sampled every 20 ms."""

    def __init__(self, db: BenchDatabase):
        self.db, self.most, self._stop = db, 0, threading.Event()

    def __enter__(self):
        if self.db.pg_server:
            self.thread = threading.Thread(target=self._watch, daemon=True)
            self.thread.start()
        return self

    def _watch(self):
        import psycopg

        with psycopg.connect(self.db.pg_server, autocommit=True) as conn:
            while not self._stop.is_set():
                count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                     (self.db.name,)).fetchone()[0]
                self.most = max(self.most, count)
                time.sleep(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        if self.db.pg_server:
            self.thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=100)
    parser.add_argument("--stock", type=int, default=10)
    args = parser.parse_args()
    processes = []
    with BenchDatabase() as db:
        setup_django(db.url)
        from django.db import connections

        from catalog.models import Category, Product, TaxRate
        from orders.models import Order

        category = Category.objects.create(name="Bench", slug="bench")
        rate = TaxRate.objects.create(name="Standard", rate="20.00", country="FR")
        product = Product.objects.create(category=category, tax_rate=rate, name="Scarce thing", slug="scarce",
                                         sku="SCARCE-1", unit_amount=1999, currency="eur", stock=args.stock)
        connections.close_all()
        emulator_port, web_port = free_port(), free_port()
        emulator_url, base = f"http://127.0.0.1:{emulator_port}", f"http://127.0.0.1:{web_port}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false",
               "DATABASE_URL": db.url, "STRIPE_API_BASE": emulator_url, "SITE_URL": base, "LOG_LEVEL": "WARNING",
               "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "VAR_DIR": db.tmp.name}
        try:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "stripe_emulator", "--host", "127.0.0.1", "--port", str(emulator_port),
                 "--api-key", API_KEY, "--state", f"{db.tmp.name}/emulator.json", "--log-level", "WARNING"],
                cwd=ROOT, env=env))
            processes.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{web_port}",
                 "--workers", str(WORKERS), "--threads", str(THREADS), "--log-level", "warning"],
                cwd=ROOT, env=env))
            wait_for(emulator_url + "/v1/balance")
            wait_for(base + "/")

            buyers = [Buyer(base, n) for n in range(args.buyers)]
            # Every buyer warms up (and a unit is in each cart while the stock lasts).
            for buyer in buyers:
                buyer.fill_cart(product.get_absolute_url(), product.pk)
            baseline, baseline_wall = rush(buyers, lambda b: ("page", _timed(b, product.get_absolute_url())))
            with ConnectionWatch(db) as watch:
                results, wall = rush(buyers, Buyer.check_out)
        finally:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                process.wait(timeout=30)

        paying = [t for outcome, t in results if outcome == "paying"]
        refused = [t for outcome, t in results if outcome == "refused"]
        errors = [outcome for outcome, _ in results if outcome not in ("paying", "refused")]
        product.refresh_from_db()
        placed = Order.objects.filter(lines__product=product).count()
        units = sum(Order.objects.filter(lines__product=product).values_list("lines__quantity", flat=True))
        oversold = max(0, units - args.stock) + (1 if product.stock + units != args.stock else 0)
        figures = {
            "database": db.kind,
            "server": f"gunicorn, {WORKERS} workers x {THREADS} threads",
            "buyers": args.buyers,
            "stock": args.stock,
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
            "to_refusal": summary_ms(refused),
            "most_db_connections": watch.most if db.pg_server else None,
            "baseline_product_page": {"wall_s": round(baseline_wall, 3),
                                      "requests_per_s": round(args.buyers / baseline_wall, 1),
                                      **summary_ms([t for _, t in baseline])},
        }
        connections.close_all()
        report("checkout", figures)
        return 1 if oversold or errors else 0


def _timed(buyer: Buyer, path: str) -> float:
    started = time.perf_counter()
    status, _, _ = buyer.request(path)
    assert status == 200, status
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
