"""The emulator's own account (`GET /v1/account`) and balance transactions."""

import hashlib

from .. import fixtures
from ..wire import not_found
from .common import eq_filter, render, render_list


def account_id(app):
    # Derived from the API key so it is the same after a reset or restart:
    # dj-stripe stores it as the owner of everything it syncs.
    return "acct_" + hashlib.sha256(app.config.api_key.encode()).hexdigest()[:16].upper()


def ensure(app):
    """Create the account object if the state does not have it yet."""
    store = app.store
    id_ = account_id(app)
    if store.get(id_, "account"):
        return
    requirements = fixtures.shape(
        "account", "requirements", alternatives=[], currently_due=[], errors=[], eventually_due=[],
        past_due=[], pending_verification=[])
    store.add(fixtures.make(
        "account",
        id=id_,
        business_profile=fixtures.shape(
            "account", "business_profile", name="Emulator Shop", support_email="support@example.com",
            url="https://shop.example.com"),
        business_type="company",
        capabilities={"card_payments": "active", "transfers": "active"},
        charges_enabled=True,
        controller={"type": "account"},
        country="US",
        created=store.now(),
        default_currency="usd",
        details_submitted=True,
        email="emulator@example.com",
        external_accounts={"object": "list", "data": [], "has_more": False,
                           "url": f"/v1/accounts/{id_}/external_accounts"},
        future_requirements=dict(requirements),
        payouts_enabled=True,
        requirements=dict(requirements),
        settings=fixtures.shape(
            "account", "settings",
            branding=fixtures.shape("account", "settings.branding"),
            card_payments=fixtures.shape(
                "account", "settings.card_payments",
                decline_on={"avs_failure": False, "cvc_failure": False}),
            dashboard={"display_name": "Emulator Shop", "timezone": "Etc/UTC"},
            payments=fixtures.shape("account", "settings.payments", statement_descriptor="EMULATOR SHOP"),
            payouts={"debit_negative_balances": True, "schedule": {"delay_days": 2, "interval": "daily"},
                     "statement_descriptor": None},
        ),
        tos_acceptance={"date": None, "ip": None, "user_agent": None},
        type="standard",
    ))


def retrieve_own(req):
    return render(req, req.store.get(account_id(req.app), "account"))


def retrieve(req):
    if req.args["id"] != account_id(req.app):
        raise not_found("account", req.args["id"], param="account")
    return retrieve_own(req)


def retrieve_balance_transaction(req):
    return render(req, req.store.require(req.args["id"], "balance_transaction", kind="balance transaction"))


def list_balance_transactions(req):
    return render_list(req, "balance_transaction", "/v1/balance_transactions",
                       [eq_filter(req, "type"), eq_filter(req, "source"), eq_filter(req, "currency")])


ROUTES = [
    ("GET", "/v1/account", retrieve_own),
    ("GET", "/v1/accounts/{id}", retrieve),
    ("GET", "/v1/balance_transactions/{id}", retrieve_balance_transaction),
    ("GET", "/v1/balance_transactions", list_balance_transactions),
]
