from celery import shared_task

from .exceptions import GatewayUnavailable


@shared_task(
    autoretry_for=(GatewayUnavailable,), retry_backoff=30, retry_backoff_max=300, max_retries=5,
)
def reconcile_order(order_id: int) -> None:
    from . import services

    services.order_reconcile(order_id=order_id)


@shared_task
def reconcile_pending_orders() -> int:
    """Periodic: one reconcile task per order still awaiting payment after a while."""
    from . import services

    order_ids = list(services.orders_to_reconcile())
    for order_id in order_ids:
        reconcile_order.delay(order_id)
    return len(order_ids)
