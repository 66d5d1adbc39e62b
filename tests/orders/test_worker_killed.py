"""A worker killed (SIGKILL) while issuing a paid order's documents: the order
still gets exactly one invoice and one receipt, from the sweeper. Needs
PostgreSQL and Redis (a real Celery worker in a subprocess shares them)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from billing.models import Document
from config.celery import app
from orders.models import Order
from orders.services import order_mark_paid
from orders.tasks import issue_missing_order_documents
from tests.factories import OrderFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")),
                       reason="needs PostgreSQL and Redis: a real worker process shares them"),
]


def wait_for(condition, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting: {what}")


@pytest.fixture
def real_worker(tmp_path):
    db = connection.settings_dict
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        CELERY_TASK_ALWAYS_EAGER="false",
        MEDIA_ROOT=settings.MEDIA_ROOT,
        VAR_DIR=str(tmp_path / "var"),
    )
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    log = open(tmp_path / "worker.log", "w")
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "-Q", "events,celery",
         "--concurrency=1", "--pool=prefork", "--without-mingle", "--without-gossip", "--without-heartbeat",
         "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    yield worker
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


def a_session_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


@pytest.fixture
def through_the_broker():
    """Tasks go to Redis, for the real worker, instead of running here."""
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_a_worker_killed_mid_task_leaves_one_invoice_and_one_receipt(real_worker, through_the_broker, settings):
    order = OrderFactory(status=Order.Status.AWAITING_PAYMENT)

    # A second session keeps documents from being written, so the worker is
    # caught inside its issuing transaction (holding the order's row lock).
    holder = connections.create_connection("default")
    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Document._meta.db_table} IN EXCLUSIVE MODE")
        order_mark_paid(order_id=order.pk, amount_paid=order.total, currency=order.currency)  # enqueues issuing
        wait_for(a_session_waits_on_a_lock, "the worker to be issuing the documents")

        os.killpg(real_worker.pid, signal.SIGKILL)
        real_worker.wait(timeout=30)
    finally:
        holder.rollback()
        holder.close()
    assert not Document.objects.filter(order=order).exists()  # its transaction died with it
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID

    app.conf.task_always_eager = True
    settings.ORDER_DOCUMENTS_SWEEP_AFTER_SECONDS = 0
    assert issue_missing_order_documents() == 1  # the beat's sweep, run now rather than in 2 minutes
    assert issue_missing_order_documents() == 0  # and again: nothing left to do

    assert Document.objects.filter(order=order, kind="invoice").count() == 1
    assert Document.objects.filter(order=order, kind="receipt").count() == 1
    assert Document.objects.get(order=order, kind="invoice").pdf_rendered_at is not None
