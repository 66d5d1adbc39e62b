import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

from . import broker  # noqa: F401  (the `shopfs://` broker of the embedded default)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Database connections in the worker. Celery's Django fixup closes every
# connection before and after each task (it does not read CONN_MAX_AGE), so
# each task opened a new PostgreSQL connection: during renewals, 6% of a pool
# process's time went to connecting. Unless this many tasks have run
# (CELERY_DB_REUSE_MAX, the fixup's own knob), it now leaves them open, and
# the worker treats a task as Django treats a request: before and after it,
# close_old_connections() closes a connection older than CONN_MAX_AGE or one
# the health check (CONN_HEALTH_CHECKS) finds broken, so the next query opens
# a fresh one.
app.conf.CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(sender=None, task=None, **kwargs) -> None:
    if getattr(getattr(task, "request", None), "is_eager", False):
        return  # run inline (tests, CELERY_TASK_ALWAYS_EAGER): the caller's connection and transaction
    from django.db import close_old_connections

    close_old_connections()
