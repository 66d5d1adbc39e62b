"""Error pages in the shop's look, saying what happened and where to go."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _in_shop_look(html: str) -> bool:
    return 'class="site-header"' in html and 'href="/"' in html and "Back to the shop" in html


def test_404_page(client):
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404 and _in_shop_look(html)
    assert "We could not find this page" in html and reverse("login") in html


def test_a_support_user_opening_accounting_sees_why(client):
    support = UserFactory(username="support", is_staff=True)
    support.groups.add(Group.objects.get_or_create(name="Support")[0])
    client.force_login(support)
    response = client.get(reverse("accounting:document_list"))
    html = response.content.decode()
    assert response.status_code == 403 and _in_shop_look(html)
    assert "The accounting pages are for accountants." in html
    assert "signed in as support" in html.lower() and reverse("admin:index") in html


def test_400_page(client):
    response = client.get("/", HTTP_HOST="evil.example.com")  # not an allowed host: 400
    html = response.content.decode()
    assert response.status_code == 400 and "We could not understand this request" in html and "Back to the shop" in html


def test_csrf_failure_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("shop:cart_add"), {"product_id": "1"})
    html = response.content.decode()
    assert response.status_code == 403 and _in_shop_look(html) and "This form could not be sent" in html


def test_500_page(client, settings):
    from shop.errors import server_error

    response = server_error(None)
    html = response.content.decode()
    assert response.status_code == 500 and "Something went wrong on our side" in html
    assert settings.SHOP_NAME in html and "Back to the shop" in html
