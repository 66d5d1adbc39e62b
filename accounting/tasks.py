"""Celery tasks of the accounting package: thin, ids only, idempotent."""

from celery import shared_task

from . import services


@shared_task(name="accounting.tasks.build_export", acks_late=True, soft_time_limit=3600, time_limit=3900)
def build_export(job_id: int) -> str:
    """Build an export's ZIP (a done job is left as it is). A large period
    takes minutes, hence the longer time limits than the project's default."""
    return services.export_build(job_id=job_id).status
