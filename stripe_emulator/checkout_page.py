"""The hosted checkout page (`session.url`), the 3-D Secure challenge page and
receipts: plain HTML forms, no scripts, no external assets."""

from html import escape

from .engine.invoicing import invoice_lines
from .money import format_amount
from .resources import checkout
from .responses import html, redirect
from .wire import StripeError

STYLE = """
body{font-family:system-ui,sans-serif;background:#f6f9fc;color:#1a1f36;margin:0}
main{max-width:720px;margin:40px auto;background:#fff;border-radius:8px;padding:32px;
box-shadow:0 2px 8px rgba(0,0,0,.08)}
h1{font-size:20px;margin-top:0}table{width:100%;border-collapse:collapse;margin-bottom:24px}
td,th{padding:8px 0;border-bottom:1px solid #e3e8ee;text-align:left}td.num,th.num{text-align:right}
label{display:block;margin:12px 0 4px;font-size:14px}
input{width:100%;box-sizing:border-box;padding:10px;border:1px solid #cfd7df;border-radius:4px;font-size:16px}
.row{display:flex;gap:12px}.row>div{flex:1}
button{margin-top:20px;width:100%;padding:12px;background:#635bff;color:#fff;border:0;border-radius:4px;
font-size:16px;cursor:pointer}button.secondary{background:#697386}
.error{background:#fde8e8;color:#9b1c1c;padding:12px;border-radius:4px;margin-bottom:16px}
.note{color:#697386;font-size:13px}a{color:#635bff}
fieldset{border:0;padding:0;margin:16px 0 0}legend{font-weight:600;font-size:14px;padding:0}
"""


def _html(title, body, status=200):
    page = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            # No icon of its own: without this, browsers ask for /favicon.ico (a 404).
            f"<link rel=\"icon\" href=\"data:,\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>")
    return html(status, page)


def _per(price):
    recurring = price.get("recurring") or {}
    if not recurring:
        return ""
    count, interval = recurring["interval_count"], recurring["interval"]
    return f" per {interval}" if count == 1 else f" every {count} {interval}s"


def _trial_days(req, session):
    trial_end = checkout.trial_end(req.store, session)
    return max(1, round((trial_end - req.store.now()) / 86400)) if trial_end else 0


def _items_table(req, session):
    if session["mode"] == "setup":
        return ""
    rows = "".join(
        f"<tr><td>{escape(item['description'] or '')}</td><td class=\"num\">{item['quantity']}</td>"
        f"<td class=\"num\">{escape(format_amount(item['amount_subtotal'], item['currency']) + _per(item['price']))}"
        f"</td></tr>"
        for item in checkout.line_items(req.store, session))
    rows += _discount_row(req, session)
    label = "Total due today" if session["mode"] == "subscription" else "Total"
    total = escape(format_amount(session["amount_total"], session["currency"]))
    table = (f"<table><tr><th>Item</th><th class=\"num\">Qty</th><th class=\"num\">Amount</th></tr>{rows}"
             f"<tr><th>{label}</th><th></th><th class=\"num\" id=\"total\">{total}</th></tr></table>")
    if session["mode"] == "subscription":
        recurring = [i for i in checkout.line_items(req.store, session) if i["price"]["type"] == "recurring"]
        amount = sum(i["amount_subtotal"] for i in recurring)
        per = escape(format_amount(amount, session["currency"]) + _per(recurring[0]["price"]))
        days = _trial_days(req, session)
        if days:
            table += (f"<p id=\"trial\">{days} days free, then <strong id=\"recurring\">{per}</strong>"
                      "</p>")
        else:
            table += f"<p>Then <strong id=\"recurring\">{per}</strong></p>"
    return table


def _discount_row(req, session):
    """The discount (a promotion code the customer entered, or the session's)."""
    if not session["discounts"] or not session["total_details"]["amount_discount"] and session["mode"] == "payment":
        return ""
    entry = session["discounts"][0]
    promo = req.store.get(entry["promotion_code"], "promotion_code")
    coupon = req.store.get(promo["promotion"]["coupon"] if promo else entry["coupon"], "coupon") or {}
    label = promo["code"] if promo else (coupon.get("name") or coupon.get("id") or "")
    off = sum(item["amount_discount"] for item in checkout.line_items(req.store, session))
    terms = {"once": "", "forever": "", "repeating": f" for {coupon.get('duration_in_months')} months"}
    return (f"<tr id=\"discount\"><td>Discount ({escape(label)}){escape(terms.get(coupon.get('duration'), ''))}"
            f"</td><td></td><td class=\"num\">-{escape(format_amount(off, session['currency']))}</td></tr>")


def _address_fields(session, form):
    """The billing address: all of it when the session requires it, else the country."""
    mode = session["billing_address_collection"]
    fields = [("line1", "Address line 1", "address-line1"), ("line2", "Address line 2", "address-line2"),
              ("postal_code", "Postal code", "postal-code"), ("city", "City", "address-level2"),
              ("state", "State or region", "address-level1"), ("country", "Country (2-letter code)", "country")]
    if mode != "required":
        fields = fields[-1:]
    required = {"line1", "postal_code", "city", "country"} if mode == "required" else set()
    out = "<fieldset id=\"billing-address\"><legend>Billing address</legend>"
    for name, label, autocomplete in fields:
        attrs = " required" if name in required else ""
        out += (f"<label for=\"{name}\">{label}</label><input id=\"{name}\" name=\"{name}\" "
                f"value=\"{escape(form.get(name, ''))}\" autocomplete=\"{autocomplete}\"{attrs}>")
    return out + "</fieldset>"


def _tax_id_fields(session, form):
    if not (session.get("tax_id_collection") or {}).get("enabled"):
        return ""
    return ("<fieldset id=\"tax-id\"><legend>Purchasing as a business</legend>"
            "<label for=\"business_name\">Business name</label><input id=\"business_name\" "
            f"name=\"business_name\" value=\"{escape(form.get('business_name', ''))}\" autocomplete=\"organization\">"
            "<label for=\"tax_id\">Tax ID (VAT number)</label><input id=\"tax_id\" name=\"tax_id\" "
            f"value=\"{escape(form.get('tax_id', ''))}\" placeholder=\"DE123456789\"></fieldset>")


def _promotion_code_fields(session, form):
    if not session["allow_promotion_codes"]:
        return ""
    action = f"/c/pay/{escape(session['id'])}/promotion_code"
    remove = ""
    if session["discounts"]:
        remove = (f"<button type=\"submit\" class=\"secondary\" id=\"remove-code\" name=\"remove\" value=\"1\" "
                  f"formaction=\"{action}\" formnovalidate>Remove code</button>")
    return ("<label for=\"promotion_code\">Promotion code</label><div class=\"row\"><div>"
            f"<input id=\"promotion_code\" name=\"promotion_code\" value=\"{escape(form.get('promotion_code', ''))}\">"
            f"</div><div><button type=\"submit\" class=\"secondary\" id=\"apply-code\" formaction=\"{action}\" "
            f"formnovalidate>Apply</button>{remove}</div></div>")


def _cancel_link(session):
    if not session["cancel_url"]:
        return ""
    return f"<p><a id=\"cancel\" href=\"{escape(session['cancel_url'])}\">Cancel / back</a></p>"


def _pay_page(req, session, error=None, form=None, status=200, notice=None):
    form = form or {}
    customer = req.store.get(session["customer"], "customer") or {}
    email = form.get("email") or session["customer_email"] or customer.get("email") or ""
    error_html = f"<div class=\"error\" role=\"alert\" id=\"error\">{escape(error)}</div>" if error else ""
    if notice:
        error_html += f"<p class=\"note\" role=\"status\" id=\"notice\">{escape(notice)}</p>"
    if session["mode"] == "subscription":
        button = "Subscribe"
    elif session["mode"] == "setup":
        button = "Save card"
    else:
        button = f"Pay {format_amount(session['amount_total'], session['currency'])}"
    heading = {"setup": "<p id=\"setup\">Save a card for future payments to Emulator Shop.</p>",
               "subscription": "<p id=\"subscribe\">Subscribe to Emulator Shop</p>"}.get(session["mode"], "")
    body = f"""
<h1>Emulator Shop (test mode)</h1>{heading}
{_items_table(req, session)}
{error_html}
<form method="post" action="/c/pay/{escape(session['id'])}">
<label for="email">Email</label>
<input id="email" name="email" type="email" value="{escape(email)}" required autocomplete="email">
<label for="number">Card number</label>
<input id="number" name="number" inputmode="numeric" placeholder="4242 4242 4242 4242"
 value="{escape(form.get('number', ''))}" required autocomplete="cc-number">
<div class="row"><div><label for="exp">Expiry (MM / YY)</label>
<input id="exp" name="exp" placeholder="12 / 34" value="{escape(form.get('exp', ''))}" required autocomplete="cc-exp">
</div><div><label for="cvc">CVC</label>
<input id="cvc" name="cvc" inputmode="numeric" placeholder="123" required autocomplete="cc-csc"></div></div>
<label for="name">Name on card</label>
<input id="name" name="name" value="{escape(form.get('name', ''))}" autocomplete="cc-name">
{_address_fields(session, form)}
{_tax_id_fields(session, form)}
{_promotion_code_fields(session, form)}
<button type="submit" id="pay">{escape(button)}</button>
</form>
{_cancel_link(session)}
<p class="note">Offline Stripe emulator. Test cards: 4242 4242 4242 4242 (success),
4000 0000 0000 0002 (declined), 4000 0025 0000 3155 (3-D Secure).</p>"""
    return _html("Pay - Emulator Shop", body, status)


def _closed_page(req, session, message, status=200):
    body = (f"<h1>Emulator Shop (test mode)</h1>{_items_table(req, session)}"
            f"<div class=\"error\" role=\"alert\" id=\"error\">{escape(message)}</div>{_cancel_link(session)}")
    return _html("Checkout unavailable", body, status)


def _success_redirect(session):
    if not session["success_url"]:
        return None
    return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]))


def _session(req):
    return req.store.require(req.args["id"], "checkout.session", kind="checkout.session")


def show(req):
    session = _session(req)
    try:
        checkout.check_payable(req, session)
    except checkout.NotPayable as exc:
        return _closed_page(req, session, str(exc))
    return _pay_page(req, session)


def submit(req):
    session = _session(req)
    form = {k: v for k, v in req.params.items() if isinstance(v, str)}
    try:
        pi = checkout.pay(req, session, form)
    except checkout.NotPayable as exc:
        return _closed_page(req, session, str(exc), status=409)
    except StripeError as err:
        return _pay_page(req, session, error=err.message, form=form, status=err.status)
    if pi["status"] == "requires_action":
        return redirect(f"/c/3ds/{pi['id']}")
    return _success_redirect(session) or _html(
        "Payment complete", "<h1>Payment complete</h1><p id=\"result\">Thank you. Your payment succeeded.</p>")


def promotion_code(req):
    """The page's Apply / Remove buttons for a promotion code; the page comes
    back with what was typed, the discount and the new total."""
    session = _session(req)
    form = {k: v for k, v in req.params.items() if isinstance(v, str)}
    try:
        checkout.check_payable(req, session)
        if form.get("remove"):
            checkout.remove_code(req, session)
            form["promotion_code"] = ""
            return _pay_page(req, session, form=form, notice="The code was removed.")
        checkout.apply_code(req, session, form.get("promotion_code"))
    except checkout.NotPayable as exc:
        return _closed_page(req, session, str(exc), status=409)
    except StripeError as err:
        return _pay_page(req, session, error=err.message, form=form, status=err.status)
    return _pay_page(req, session, form=form, notice="Code applied.")


def show_3ds(req):
    pi = req.store.require(req.args["id"], "payment_intent", kind="payment_intent")
    if pi["status"] != "requires_action":
        return _html("Authentication", "<h1>Nothing to authenticate</h1>"
                     f"<p id=\"result\">This payment is {escape(pi['status'])}.</p>", 409)
    amount = escape(format_amount(pi["amount"], pi["currency"]))
    body = f"""
<h1>3D Secure 2 test page</h1>
<p>Authenticate a payment of <strong>{amount}</strong> to Emulator Shop.</p>
<form method="post"><input type="hidden" name="action" value="complete">
<button type="submit" id="complete">Complete authentication</button></form>
<form method="post"><input type="hidden" name="action" value="fail">
<button type="submit" class="secondary" id="fail">Fail authentication</button></form>"""
    return _html("3D Secure", body)


def submit_3ds(req):
    pi = req.store.require(req.args["id"], "payment_intent", kind="payment_intent")
    approved = req.params.get("action") == "complete"
    return_url = (pi["next_action"] or {}).get("redirect_to_url", {}).get("return_url")
    try:
        session = checkout.authenticate(req, pi, approved)
    except StripeError as err:
        session = req.store.get(req.store.private.get(pi["id"], {}).get("checkout_session"), "checkout.session")
        if session is not None and err.status == 402:
            return _pay_page(req, session, error=err.message, status=402)
        return _html("Authentication", f"<h1>Authentication</h1><p id=\"result\">{escape(err.message)}</p>",
                     err.status)
    if session is not None:
        return _success_redirect(session) or _html("Payment complete", "<h1>Payment complete</h1>")
    if return_url:
        sep = "&" if "?" in return_url else "?"
        return redirect(f"{return_url}{sep}payment_intent={pi['id']}")
    return _html("Authentication complete", f"<h1>Authentication complete</h1><p id=\"result\">{pi['status']}</p>")


def receipt(req):
    charge = req.store.require(req.args["id"], "charge")
    card = charge["payment_method_details"]["card"]
    body = (f"<h1>Receipt from Emulator Shop</h1><p>Amount paid: <strong>"
            f"{escape(format_amount(charge['amount'], charge['currency']))}</strong></p>"
            f"<p>Paid with {escape(card['brand'])} ending in {escape(card['last4'])}</p>"
            f"<p class=\"note\">Charge {escape(charge['id'])}</p>")
    return _html("Receipt", body)


def invoice_page(req):
    """The hosted invoice page (`invoice.hosted_invoice_url`): lines and status."""
    invoice = req.store.require(req.args["id"], "invoice")
    rows = "".join(
        f"<tr><td>{escape(line['description'] or '')}</td><td class=\"num\">{line['quantity']}</td>"
        f"<td class=\"num\">{escape(format_amount(line['amount'], line['currency']))}</td></tr>"
        for line in invoice_lines(req.store, invoice))
    cur = invoice["currency"]
    body = (f"<h1>Invoice {escape(invoice['number'] or invoice['id'])}</h1>"
            f"<p>Status: <strong id=\"status\">{escape(invoice['status'])}</strong></p>"
            f"<table><tr><th>Description</th><th class=\"num\">Qty</th><th class=\"num\">Amount</th></tr>{rows}"
            f"<tr><th>Total</th><th></th><th class=\"num\">{escape(format_amount(invoice['total'], cur))}</th></tr>"
            f"<tr><th>Amount due</th><th></th><th class=\"num\" id=\"amount_due\">"
            f"{escape(format_amount(invoice['amount_due'], cur))}</th></tr></table>")
    return _html(f"Invoice {invoice['number'] or invoice['id']}", body)


ROUTES = [
    ("GET", "/i/{id}", invoice_page),
    ("GET", "/i/{id}/pdf", invoice_page),
    ("GET", "/c/pay/{id}", show),
    ("POST", "/c/pay/{id}", submit),
    ("POST", "/c/pay/{id}/promotion_code", promotion_code),
    ("GET", "/c/3ds/{id}", show_3ds),
    ("POST", "/c/3ds/{id}", submit_3ds),
    ("GET", "/receipts/payment/{id}", receipt),
]
