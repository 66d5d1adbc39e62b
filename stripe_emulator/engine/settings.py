"""The account's billing settings, which Stripe keeps in the Dashboard
(Settings > Billing): the retry schedule for failed subscription payments, what
happens after the last retry, and when the notices go out. Kept with the state;
the emulator's startup options (`--retry-days`, `--retry-final-action`) set
them the way a Dashboard setting would, the control route
`/_emulator/billing/retry_schedule` changes them for a test."""

from ..wire import as_int, invalid

DEFAULT_SETTINGS = {"retry_days": [3, 5, 7], "final_action": "cancel", "upcoming_days": 3, "trial_notice_days": 3}
FINAL_ACTIONS = ("cancel", "unpaid", "past_due")


def settings(store):
    """Billing settings (retry schedule...), kept with the state."""
    current = store.private.setdefault("billing_settings", {})
    for key, value in DEFAULT_SETTINGS.items():
        current.setdefault(key, value)
    return current


def retry_days(value):
    """A retry schedule from a list or a comma-separated string ("3,5,7"):
    days after the previous attempt, each positive. Raises a 400 error."""
    days = value
    if isinstance(days, str):
        days = [d for d in days.split(",") if d.strip()]
    if not isinstance(days, list):
        raise invalid("`days` must be a list of numbers of days.", param="days")
    try:
        days = [float(d) for d in days]
    except (TypeError, ValueError):
        raise invalid("`days` must be a list of numbers of days.", param="days") from None
    if any(d <= 0 for d in days):
        raise invalid("Each retry must be a positive number of days.", param="days")
    return [int(d) if d == int(d) else d for d in days]


def final_action(value):
    if value not in FINAL_ACTIONS:
        raise invalid(f"`final_action` must be one of {', '.join(FINAL_ACTIONS)}.", param="final_action")
    return value


def update(store, changes):
    """Apply `changes` ({"days", "final_action", "upcoming_days",
    "trial_notice_days"}, all optional) after checking them; returns the settings."""
    current = settings(store)
    new = {}
    if "days" in changes:
        new["retry_days"] = retry_days(changes["days"])
    if "final_action" in changes:
        new["final_action"] = final_action(changes["final_action"])
    for name in ("upcoming_days", "trial_notice_days"):
        if name in changes:
            new[name] = as_int(changes, name, minimum=0)
    current.update(new)
    return current


def configure(store, days=None, action=None):
    """The startup options: they override what a state file kept, as a
    Dashboard setting would."""
    changes = {}
    if days is not None:
        changes["days"] = days
    if action is not None:
        changes["final_action"] = action
    update(store, changes)
