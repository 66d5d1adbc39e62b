"""The account's billing settings, which Stripe keeps in the Dashboard
(Settings > Billing): the retry schedule for failed subscription payments, what
happens after the last retry, and when the notices go out. Kept with the state."""

DEFAULT_SETTINGS = {"retry_days": [3, 5, 7], "final_action": "cancel", "upcoming_days": 3, "trial_notice_days": 3}
FINAL_ACTIONS = ("cancel", "unpaid", "past_due")


def settings(store):
    """Billing settings (retry schedule...), kept with the state."""
    current = store.private.setdefault("billing_settings", {})
    for key, value in DEFAULT_SETTINGS.items():
        current.setdefault(key, value)
    return current
