"""Stripe API resources, one module per group. Each module lists its routes as
(method, path pattern, handler); handlers take a Request and return a dict."""

from . import account, catalog, charges, checkout, customers, disputes, events, payment_intents, payment_methods, refunds

ROUTES = [
    route
    for module in (account, customers, catalog, checkout, payment_intents, payment_methods,
                   charges, refunds, disputes, events)
    for route in module.ROUTES
]
