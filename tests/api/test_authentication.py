"""Keys: created by staff in admin and shown once, revoked there, refused when
unknown, revoked or expired; the site's session works too."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import api_token_revoke, key_hash
from audit.models import AuditEntry
from tests.billing.factories import PaidOrderFactory

from .conftest import client_with_key, error_of, key_for

pytestmark = pytest.mark.django_db


def test_a_key_reads_as_its_user_and_its_last_use_is_kept(customer):
    order = PaidOrderFactory(customer=customer)
    key = key_for(customer)
    response = client_with_key(key).get("/api/v1/orders/")
    assert response.status_code == 200
    assert [o["number"] for o in response.json()["results"]] == [order.number]
    token = ApiToken.objects.get(user=customer)
    assert token.last_used_at is not None
    # Only a fingerprint of the key is stored.
    assert token.key_hash == key_hash(key) and key not in str(ApiToken.objects.values().get())


def test_without_a_key_401_with_the_scheme_to_use(db):
    response = APIClient().get("/api/v1/orders/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("header", ["Bearer shop_not-a-real-key", "Token shop_x", "Bearer", "Bearer a b"])
def test_a_wrong_key_is_refused(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/orders/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_revoked_and_expired_keys_are_refused(customer, admin_user):
    key = key_for(customer)
    client = client_with_key(key)
    assert client.get("/api/v1/orders/").status_code == 200
    api_token_revoke(token_id=ApiToken.objects.get().pk, revoked_by=admin_user)
    assert client.get("/api/v1/orders/").status_code == 401

    expiring = key_for(customer)
    ApiToken.objects.filter(key_hash=key_hash(expiring)).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client_with_key(expiring).get("/api/v1/orders/").status_code == 401


def test_a_deactivated_users_key_stops_working(customer):
    key = key_for(customer)
    customer.is_active = False
    customer.save()
    assert client_with_key(key).get("/api/v1/orders/").status_code == 401


def test_the_site_session_works(client, customer):
    order = PaidOrderFactory(customer=customer)
    client.force_login(customer)
    response = client.get("/api/v1/orders/")
    assert response.status_code == 200
    assert response.json()["results"][0]["reference"] == str(order.reference)


def test_staff_create_a_key_in_admin_shown_once_then_revoke_it(client, admin_user, accountant):
    client.force_login(admin_user)
    response = client.post("/admin/api/apitoken/add/", {"user": accountant.pk, "name": "Accounting tool"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "shown only once" in page
    key = re.search(r'data-role="api-key"[^>]*value="(shop_[^"]+)"', page).group(1)
    token = ApiToken.objects.get()
    assert token.user == accountant and token.created_by == admin_user and token.key_prefix == key[:11]
    assert "no-store" in response["Cache-Control"]
    # Never again: the list and the token's page show its first characters only.
    listing = client.get("/admin/api/apitoken/").content.decode()
    assert token.key_prefix in listing and key not in listing
    assert key not in client.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()
    assert client_with_key(key).get("/api/v1/documents/").status_code == 200

    response = client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin_user
    assert client_with_key(key).get("/api/v1/documents/").status_code == 401
    assert list(AuditEntry.objects.filter(object_type="api.apitoken").values_list("action", flat=True).order_by("pk")) == [
        "api_token.created", "api_token.revoked"]


def test_admin_refuses_a_token_for_an_inactive_user_or_without_a_name(client, admin_user, customer):
    client.force_login(admin_user)
    response = client.post("/admin/api/apitoken/add/", {"user": customer.pk, "name": "  "})
    assert response.status_code == 200 and "shown only once" not in response.content.decode()
    assert not ApiToken.objects.exists()
    response = client.post("/admin/api/apitoken/add/", {"user": customer.pk, "name": "Old",
                                                        "expires_at_0": "2001-01-01", "expires_at_1": "10:00"})
    assert "The expiry date is in the past." in response.content.decode()
    assert not ApiToken.objects.exists()
