"""Benchmark: a month's renewals on one Stripe test clock.

    .venv/bin/python bench/bench_renewals.py [--subscriptions 200 1000] [--timeout 1800]

Runs the whole stack as processes (tests/e2e/stack.py: the emulator, gunicorn,
a real Celery worker with --concurrency=2), on a throwaway database
(PostgreSQL when DATABASE_URL names one, else SQLite). Then:

1. set-up (not timed): one test clock, N customers on it with a card, N
   active monthly subscriptions to a plan. The set-up's webhooks are dropped
   (an emulator fault), so the first invoices issue no documents and only the
   renewals are measured; the customers and subscriptions are then mirrored
   (`djstripe_sync_models`), as a running shop's webhooks would have done;
2. the clock is advanced across the month boundary; every subscription renews
   (Stripe: invoice.created, finalized, paid, ... webhooks to gunicorn; dj-stripe
   mirrors; our invoice.paid receiver enqueues the documents; the worker issues
   invoice + receipt, renders the invoice's PDF and e-mails it; a receipt's PDF
   is rendered on its first download, so none is waited for here);
3. measured: seconds until every renewal invoice is issued, and until every
   one has its PDF and its receipt; invoices per second; the worker's peak
   memory (VmHWM of the worker's main and pool processes, from /proc); the CPU
   seconds each part used meanwhile (worker, web, emulator, database and
   Redis servers, from /proc), per renewal, and how busy the machine's CPUs
   were: on a machine whose CPUs are all busy, the time is what the CPU work
   per renewal allows, and more workers cannot shorten it.

One run per --subscriptions number (200 and 1,000 by default, to show how it
scales), each on a fresh stack and database. Target: 1,000 renewals with every
invoice issued and rendered <= 60 s after the clock advance. Prints the
figures and writes bench/results/renewals.json.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stripe  # noqa: E402

from bench.common import report  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402

KEY = "sk_test_emulatorOfflineShopKey000000000"
# What the set-up's (dropped) webhooks would have mirrored: the customers, with
# their cards, and their subscriptions.
MIRROR_SETUP = """
from djstripe.models import Customer, Subscription
from payments import gateway
api = gateway.client().v1
for customer in api.customers.list({"limit": 100}).auto_paging_iter():
    Customer.sync_from_stripe_data(customer)
for subscription in api.subscriptions.list({"limit": 100}).auto_paging_iter():
    Subscription.sync_from_stripe_data(subscription)
"""
DAY = 86400


def control(stack, path, payload=None, method="POST"):
    import json
    import urllib.request

    data = json.dumps(payload or {}).encode() if method != "GET" else None
    request = urllib.request.Request(f"{stack.emulator_url}/_emulator/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read() or b"{}")


class Counter:
    """Counts renewal documents in the stack's database (SQLite or PostgreSQL)."""

    SQL = (
        "SELECT "
        " SUM(CASE WHEN kind = 'invoice' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN kind = 'invoice' AND pdf_rendered_at IS NOT NULL THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN kind = 'receipt' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN kind = 'invoice' AND emailed_at IS NOT NULL THEN 1 ELSE 0 END) "
        "FROM billing_document"
    )

    def __init__(self, database_url: str):
        self.url = database_url

    TIMELINE = (
        "SELECT type, COUNT(*), MIN(received_at), MAX(received_at), MAX(processed_at) FROM payments_webhookevent"
        " WHERE received_at >= %s GROUP BY type ORDER BY type"
    )

    def timeline(self, since: float) -> dict:
        """When the events of the renewals arrived and were processed, in
        seconds after the clock advance (where the time went)."""
        from datetime import datetime, timezone

        start = datetime.fromtimestamp(since, tz=timezone.utc)
        if self.url.startswith("sqlite:///"):
            import sqlite3

            with sqlite3.connect(self.url[len("sqlite:///"):], timeout=30) as conn:
                rows = conn.execute(self.TIMELINE.replace("%s", "?"), (start.isoformat(" "),)).fetchall()
            rows = [(t, n, *(datetime.fromisoformat(v).replace(tzinfo=timezone.utc) if v else None
                              for v in rest)) for t, n, *rest in rows]
        else:
            import psycopg

            with psycopg.connect(self.url) as conn:
                rows = conn.execute(self.TIMELINE, (start,)).fetchall()

        def after(value):
            return round(value.timestamp() - since, 1) if value else None

        return {t: {"events": n, "first_received_s": after(first), "last_received_s": after(last),
                    "last_processed_s": after(done)} for t, n, first, last, done in rows}

    def sessions(self) -> int | None:
        """Connections opened to the database so far (PostgreSQL 14+)."""
        if self.url.startswith("sqlite:///"):
            return None
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
                                ).fetchone()[0]

    def counts(self) -> tuple[int, int, int, int]:
        if self.url.startswith("sqlite:///"):
            import sqlite3

            with sqlite3.connect(self.url[len("sqlite:///"):], timeout=30) as conn:
                row = conn.execute(self.SQL).fetchone()
        else:
            import psycopg

            with psycopg.connect(self.url) as conn:
                row = conn.execute(self.SQL).fetchone()
        return tuple(int(v or 0) for v in row)


def worker_processes(stack) -> list[int]:
    """The Celery worker's main process and its pool children."""
    main = stack.processes["worker"].pid
    pids = [main]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) in pids:
                pids.append(int(entry.name))
    return pids


class CPUTime:
    """CPU seconds used by the stack's processes (grouped by the session each
    was started in: the emulator, the web server, the worker) and by the
    database and Redis servers, between `start()` and the last `sample()`;
    and how busy the machine's CPUs were. Processes that exit in between keep
    the time of their last sample."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, stack):
        self.groups = {process.pid: name for name, process in stack.processes.items()}
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.machine = self.machine_now = (0, 0)

    @staticmethod
    def _machine() -> tuple[int, int]:
        """(busy, total) jiffies of all CPUs since boot."""
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    def _scan(self) -> dict[int, tuple[str, float]]:
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            group = self.groups.get(int(fields[3]))
            if group is None:
                group = ("database server" if name == "postgres"
                         else "redis server" if name == "redis-server" else None)
            if group:
                found[int(entry.name)] = (group, (int(fields[11]) + int(fields[12])) / self.TICK)
        return found

    def start(self) -> None:
        self.first = {pid: seconds for pid, (_, seconds) in self._scan().items()}
        self.machine = self._machine()

    def sample(self) -> None:
        self.last.update(self._scan())
        self.machine_now = self._machine()

    def figures(self, renewals: int) -> dict:
        by_group: dict[str, float] = {}
        for pid, (group, seconds) in self.last.items():
            by_group[group] = by_group.get(group, 0.0) + seconds - self.first.get(pid, 0.0)
        busy = self.machine_now[0] - self.machine[0]
        total = self.machine_now[1] - self.machine[1]
        return {
            "cpu_seconds": {group: round(seconds, 1) for group, seconds in
                            sorted(by_group.items(), key=lambda item: -item[1])},
            "worker_cpu_ms_per_renewal": round(by_group.get("worker", 0.0) * 1000 / renewals, 1),
            "all_processes_cpu_ms_per_renewal": round(sum(by_group.values()) * 1000 / renewals, 1),
            "machine_cpus_busy_percent": round(100 * busy / total, 1) if total else None,
        }


def vm_hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


TARGET_SUBSCRIPTIONS, TARGET_SECONDS = 1000, 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, nargs="+", default=[200, 1000],
                        help="one run per number, each on a fresh stack and database (default: 200 1000)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for every document")
    parser.add_argument("--worker-concurrency", type=int, default=2,
                        help="the worker's pool processes (the Procfile's --concurrency)")
    args = parser.parse_args()
    runs = [run(n, args) for n in args.subscriptions]
    target = next((r for r in runs if r["subscriptions"] == TARGET_SUBSCRIPTIONS), None)
    report("renewals", {
        "database": runs[0]["database"],
        "broker": runs[0]["broker"],
        "worker_concurrency": args.worker_concurrency,
        # How it scales: the same figures per renewal at each size.
        "scaling": {str(r["subscriptions"]): {
            "seconds_until_all_pdfs_rendered": r["seconds_until_all_pdfs_rendered"],
            "ms_per_renewal": round(r["seconds_until_all_pdfs_rendered"] * 1000 / r["subscriptions"], 1)
            if r["seconds_until_all_pdfs_rendered"] else None,
            "all_processes_cpu_ms_per_renewal": r["all_processes_cpu_ms_per_renewal"],
            "worker_peak_rss_mib": r["worker_peak_rss_mib"],
        } for r in runs},
        "target": {
            "subscriptions": TARGET_SUBSCRIPTIONS, "seconds": TARGET_SECONDS,
            "met": None if target is None else bool(
                target["completed"] and target["seconds_until_all_pdfs_rendered"] <= TARGET_SECONDS),
        },
        "runs": runs,
    })


def run(n: int, args) -> dict:
    """One clock advance over `n` subscriptions on a fresh stack; its figures."""
    with (tempfile.TemporaryDirectory(prefix="bench-renewals-") as tmp,
          Stack(Path(tmp), worker_concurrency=args.worker_concurrency) as stack):
        api = stripe.StripeClient(KEY, base_addresses={"api": stack.emulator_url}, max_network_retries=2)
        counter = Counter(stack.env["DATABASE_URL"])
        [price] = api.v1.prices.list({"lookup_keys": ["coffee-club-plus-monthly"]}).data
        start = int(time.time())
        clock = api.v1.test_helpers.test_clocks.create({"frozen_time": start, "name": "bench renewals"})

        print(f"set-up: {n} customers and subscriptions on clock {clock.id} (webhooks dropped)…", flush=True)
        control(stack, "webhooks/faults", {"action": "drop", "count": 1_000_000})
        setup_started = time.monotonic()
        period_end = None
        for i in range(n):
            customer = api.v1.customers.create({
                "email": f"renewal{i}@example.com", "name": f"Subscriber {i}", "test_clock": clock.id,
                "payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": "pm_card_visa"},
                "address": {"country": "FR", "city": "Paris", "postal_code": "75001", "line1": f"{i} rue du Bac"},
            })
            sub = api.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
            period_end = sub["items"].data[0].current_period_end
            assert sub.status == "active"
        control(stack, "webhooks/faults", method="DELETE")
        control(stack, "webhooks/wait", {"timeout": 120})
        # A running shop's mirror has its customers and subscriptions (their
        # webhooks mirrored them at sign-up): mirror them as it would have.
        stack.manage("shell", "-c", MIRROR_SETUP, timeout=3600)
        setup_seconds = time.monotonic() - setup_started
        before = counter.counts()
        assert before[0] == 0, f"set-up issued documents: {before}"

        print(f"advancing the clock across the month boundary ({n} renewals)…", flush=True)
        sessions_before = counter.sessions()
        cpu = CPUTime(stack)
        cpu.start()
        t0, t0_wall = time.monotonic(), time.time()
        api.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": period_end + 3600})
        while api.v1.test_helpers.test_clocks.retrieve(clock.id).status != "ready":
            time.sleep(0.2)
        clock_seconds = time.monotonic() - t0
        issued_at = rendered_at = None
        peak = {}
        last_print = 0.0
        while time.monotonic() - t0 < args.timeout:
            issued, invoices_rendered, receipts, emailed = counter.counts()
            for pid in worker_processes(stack):
                peak[pid] = max(peak.get(pid, 0), vm_hwm_kib(pid))
            cpu.sample()
            now = time.monotonic() - t0
            if issued_at is None and issued >= n:
                issued_at = now
            if invoices_rendered >= n and receipts >= n:
                rendered_at = now
                break
            if now - last_print > 10:
                print(f"  {now:6.1f}s issued {issued}/{n}, receipts {receipts}/{n}, PDFs {invoices_rendered}/{n}, "
                      f"e-mailed {emailed}", flush=True)
                last_print = now
            time.sleep(0.5)
        for pid in worker_processes(stack):
            peak[pid] = max(peak.get(pid, 0), vm_hwm_kib(pid))
        cpu.sample()
        issued, invoices_rendered, receipts, emailed = counter.counts()
        deliveries = control(stack, "deliveries", method="GET").get("data", [])
        failed = sum(1 for d in deliveries if (d.get("status_code") or 0) >= 500)

        worker_main = stack.processes["worker"].pid
        figures = {
            "database": "postgresql" if stack.env["DATABASE_URL"].startswith("postgres") else "sqlite",
            "broker": "redis" if os.environ.get("REDIS_URL") else "filesystem",
            "subscriptions": n,
            "gunicorn": {"workers": stack.web_workers, "threads": stack.threads},
            "setup_seconds": round(setup_seconds, 1),
            "clock_advance_seconds": round(clock_seconds, 2),
            "seconds_until_all_invoices_issued": round(issued_at, 1) if issued_at else None,
            "seconds_until_all_pdfs_rendered": round(rendered_at, 1) if rendered_at else None,
            "invoices_per_second_issued": round(n / issued_at, 2) if issued_at else None,
            "invoices_per_second_rendered": round(n / rendered_at, 2) if rendered_at else None,
            "documents": {"invoices": issued, "invoice_pdfs": invoices_rendered, "receipts": receipts,
                          "invoices_emailed": emailed},
            "webhook_deliveries_5xx": failed,
            "events_timeline": counter.timeline(t0_wall),
            # Each counter poll (every 0.5 s) opens one too.
            "database_connections_opened": (counter.sessions() - sessions_before) if sessions_before is not None
            else None,
            "worker_peak_rss_mib": {
                "main": round(peak.get(worker_main, 0) / 1024, 1),
                "pool_max": round(max((v for p, v in peak.items() if p != worker_main), default=0) / 1024, 1),
                "pool_processes": len(peak) - 1,
            },
            # Where the CPU went from the clock advance to the last PDF (the
            # machine's CPUs are shared by all of these and the benchmark).
            **cpu.figures(n),
            "completed": rendered_at is not None,
        }
        print(f"{n} renewals: every invoice issued at {figures['seconds_until_all_invoices_issued']} s, every PDF at "
              f"{figures['seconds_until_all_pdfs_rendered']} s; {figures['all_processes_cpu_ms_per_renewal']} ms of CPU "
              f"per renewal ({figures['worker_cpu_ms_per_renewal']} in the worker), CPUs "
              f"{figures['machine_cpus_busy_percent']}% busy", flush=True)
        return figures


if __name__ == "__main__":
    main()
