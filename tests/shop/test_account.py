import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from orders.services import BillingDetails, CartItem, order_cancel, order_place
from payments.models import Payment
from shop.cart import SESSION_KEY, Cart
from tests.factories import UserFactory

from .conftest import messages_of

pytestmark = pytest.mark.django_db

BILLING = BillingDetails(name="Ana Lima", line1="1 rue Neuve", postal_code="75001", city="Paris", country="FR")


def place(product, quantity, customer=None, email="x@example.com"):
    return order_place(
        items=[CartItem(product_id=product.pk, quantity=quantity)], email=email, billing=BILLING, customer=customer
    )


def test_account_requires_login(client):
    response = client.get(reverse("shop:account"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_account_lists_only_own_orders_with_payments(client, mug, coffee):
    ana = UserFactory(username="ana@example.com")
    bob = UserFactory(username="bob@example.com")
    mine = place(mug, 2, customer=ana, email="ana@example.com")
    Payment.objects.create(
        order=mine, status=Payment.Status.SUCCEEDED, amount=3200, currency="eur",
        stripe_payment_intent_id="pi_123", card_brand="visa", card_last4="4242",
    )
    theirs = place(coffee, 1, customer=bob, email="bob@example.com")
    guest = place(coffee, 1, customer=None, email="ana@example.com")  # same e-mail, but a guest order

    client.force_login(ana)
    response = client.get(reverse("shop:account"))
    assert response.status_code == 200
    assert list(response.context["orders"]) == [mine]
    html = response.content.decode()
    assert mine.number in html
    assert mine.get_absolute_url() in html
    assert "€32.00" in html
    assert "Awaiting payment" in html and "badge-awaiting_payment" in html
    assert "Visa •••• 4242" in html and "Succeeded" in html
    assert theirs.number not in html and guest.number not in html
    assert theirs.get_absolute_url() not in html


def test_account_with_no_orders(client):
    client.force_login(UserFactory())
    html = client.get(reverse("shop:account")).content.decode()
    assert "You have no orders yet." in html


def test_restore_from_order_puts_cancelled_order_back_in_cart(client, rf, mug, coffee):
    order = order_place(
        items=[CartItem(product_id=mug.pk, quantity=2), CartItem(product_id=coffee.pk, quantity=3)],
        email="x@example.com", billing=BILLING,
    )
    order_cancel(order_id=order.pk)
    session = client.session
    session[SESSION_KEY] = {}
    session.save()
    request = rf.get("/")
    request.session = client.session
    cart = Cart(request)
    cart.restore_from_order(order)
    request.session.save()
    assert {line.product.pk: line.quantity for line in cart.lines()} == {mug.pk: 2, coffee.pk: 3}
    assert cart.total == 2 * 1600 + 3 * 1290
    assert client.get(reverse("shop:cart")).context["cart"].count == 5


def _confirm_link(message) -> str:
    import re

    return re.search(r"https?://[^/\s]+(/accounts/signup/\S+)", message.body).group(1)


def test_signup_with_email_confirms_by_link_then_logs_in_and_goes_to_account(client):
    response = client.post(
        reverse("shop:signup"),
        {"email": "New.Customer@Example.com", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert response.status_code == 200 and "Check your inbox" in response.content.decode()
    user = get_user_model().objects.get()
    assert user.username == user.email == "new.customer@example.com" and not user.is_active
    assert mail.outbox[-1].to == ["new.customer@example.com"]
    response = client.get(_confirm_link(mail.outbox[-1]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("shop:account")
    user.refresh_from_db()
    assert user.is_active and response.context["user"] == user
    assert "Welcome! Your account has been created." in messages_of(response)
    # The link works once.
    client.post(reverse("logout"))
    assert client.get(_confirm_link(mail.outbox[-1])).status_code == 400
    # ... and can sign in again with the e-mail.
    response = client.post(
        reverse("login"), {"username": "new.customer@example.com", "password": "a-long-pass-phrase"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("shop:account")


@pytest.mark.parametrize(
    "data, error",
    [
        ({"email": "new@example.com", "password1": "a-long-pass-phrase", "password2": "another-pass-phrase"},
         "The two password fields didn’t match."),
        ({"email": "new@example.com", "password1": "short", "password2": "short"}, "This password is too short."),
        ({"email": "nope", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
         "Enter a valid email address."),
    ],
)
def test_signup_errors(client, data, error):
    UserFactory(username="taken@example.com")
    response = client.post(reverse("shop:signup"), data)
    assert response.status_code == 200
    assert error in response.content.decode().replace("&#x27;", "'")
    assert get_user_model().objects.count() == 1


def test_login_page_and_logout(client):
    UserFactory(username="ana@example.com")
    html = client.get(reverse("login")).content.decode()
    assert "Sign in" in html and reverse("shop:signup") in html
    response = client.post(reverse("login"), {"username": "ana@example.com", "password": "wrong"})
    assert "did not match" in response.content.decode()
    client.post(reverse("login"), {"username": "ana@example.com", "password": "correct-horse-battery"})
    html = client.get(reverse("shop:product_list")).content.decode()
    assert f'action="{reverse("logout")}"' in html and "Sign out" in html
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("shop:product_list")
    assert client.get(reverse("shop:account")).status_code == 302


def test_signup_page_renders(client):
    html = client.get(reverse("shop:signup")).content.decode()
    assert 'name="email"' in html and 'name="password1"' in html


def _document(order, kind, number, sequence):
    from django.utils import timezone

    from billing.models import Document

    return Document.objects.create(
        kind=kind, number=number, series=number.split("-")[0], year=2026, sequence=sequence,
        issued_at=timezone.now(), order=order, customer=order.customer, customer_email=order.email,
        currency="eur", total_net=2667, total_tax=533, total_gross=3200, snapshot={},
    )


def test_account_lists_own_documents_with_download_links(client, mug):
    ana = UserFactory(username="ana@example.com")
    bob = UserFactory(username="bob@example.com")
    mine = place(mug, 2, customer=ana, email="ana@example.com")
    theirs = place(mug, 2, customer=bob, email="bob@example.com")
    invoice = _document(mine, "invoice", "INV-2026-000001", 1)
    receipt = _document(mine, "receipt", "RCP-2026-000001", 1)
    other = _document(theirs, "invoice", "INV-2026-000002", 2)

    client.force_login(ana)
    html = client.get(reverse("shop:account")).content.decode()
    for doc, _kind in ((invoice, "Invoice"), (receipt, "Receipt")):
        assert doc.number in html
        assert reverse("billing:document_pdf", args=[doc.pk]) in html
    assert "Invoice" in html and "Receipt" in html and "€32.00" in html
    assert other.number not in html
    assert reverse("billing:document_pdf", args=[other.pk]) not in html
