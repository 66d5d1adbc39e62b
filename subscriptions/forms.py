"""The billing address and optional EU VAT id (billing.forms, as the shop's
checkout asks them), which decide the plan's VAT: asked on the subscribe page,
and again when a subscriber changes them (subscriptions.billing_address)."""

from billing.forms import BillingAddressForm
from orders.services import BillingDetails


class SubscribeForm(BillingAddressForm):
    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and not self.is_bound and not self.initial.get("billing_name"):
            self.initial["billing_name"] = user.get_full_name()

    def billing_details(self) -> BillingDetails:
        return BillingDetails.from_form(self.cleaned_data)
