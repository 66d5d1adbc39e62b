"""Stripe API resources, one module per group. Each module lists its routes as
(method, path pattern, handler); handlers take a Request and return a dict."""

from . import (
               account,
               billing,
               catalog,
               charges,
               checkout,
               customers,
               disputes,
               events,
               files,
               payment_intents,
               payment_methods,
               refunds,
               setup_intents,
               test_clocks,
)

ROUTES = [
    route
    for module in (account, customers, catalog, checkout, payment_intents, payment_methods,
                   charges, refunds, disputes, events, setup_intents, billing, test_clocks, files)
    for route in module.ROUTES
]
