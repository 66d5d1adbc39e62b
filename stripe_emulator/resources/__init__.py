"""Stripe API resources, one module per resource (or small group). Each module
lists its routes as (method, path pattern, handler); handlers take a Request
and return a dict. `app.py` gathers the routes; importing this package imports
none of them, so the billing engine can use the payment modules without a cycle."""
