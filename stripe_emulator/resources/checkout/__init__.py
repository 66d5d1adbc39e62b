"""Checkout Sessions: the API (`sessions`), what the hosted page collects
besides the card (`details`: promotion codes, billing address, tax IDs) and
paying a session in its three modes (`paying`), shared by the hosted page
(`checkout_page.py`) and the automation route (`control.py`)."""

from .details import apply_code, line_items, remove_code
from .paying import NotPayable, authenticate, check_payable, pay, trial_end
from .sessions import ROUTES, expire_session, sweep_expired

__all__ = ["ROUTES", "NotPayable", "apply_code", "authenticate", "check_payable", "expire_session", "line_items",
           "pay", "remove_code", "sweep_expired", "trial_end"]
