"""The base of the shop's own errors."""


class ApplicationError(Exception):
    """Something a customer or staff member asked cannot be done, or a step of
    the shop's work failed in a way it understands. `str(error)` is written for
    the person reading it (customer, staff, accountant), so views show it as it
    is; every app's domain errors derive from this."""
