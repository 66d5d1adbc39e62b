# The same paid order as the refund tests: one coffee at 5.5 % and two mugs at 20 %.
from tests.payments.refunds.conftest import catalogue, order  # noqa: F401
