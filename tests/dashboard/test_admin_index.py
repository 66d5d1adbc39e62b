"""The admin index as each kind of staff sees it: the shop's apps, and the
dj-stripe mirror as one folded "Stripe mirror" section at the end, for
superusers and whoever is given the permission only."""

import re

import pytest
from django.contrib.auth.models import Permission

from dashboard.admin_site import STRIPE_MIRROR_PERMISSION
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _sections(html: str) -> list[str]:
    return re.findall(r'<caption>\s*<a href="[^"]*" class="section"[^>]*>([^<]+)</a>', html)


def test_superuser_sees_the_mirror_once_folded_at_the_end(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get("/admin/").content.decode()
    sections = _sections(html)
    assert sections[-1] == "Stripe mirror"
    assert sections.count("Stripe mirror") == 1 and "Djstripe" not in sections
    folded = re.search(r'<details class="app-collapsed" data-role="collapsed-app">(.*?)</details>', html, re.S)
    assert folded and "<summary>Stripe mirror" in folded.group(1)
    mirrored = re.findall(r'class="model-[^"]+"', folded.group(1))
    assert len(mirrored) > 30  # customers, charges, invoices, events...
    # Everything else sits outside it, open as before.
    outside = html.replace(folded.group(0), "")
    assert 'href="/admin/djstripe/' not in outside
    assert "Orders" in sections


def test_its_own_page_lists_it_open(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get("/admin/djstripe/")
    assert response.status_code == 200
    assert "Stripe mirror" in response.content.decode()


def test_staff_without_the_permission_do_not_see_it(client, support):
    # Even with view permissions on some mirrored models.
    support.user_permissions.add(*Permission.objects.filter(content_type__app_label="djstripe",
                                                            codename__in=["view_customer", "view_charge"]))
    client.force_login(support)
    html = client.get("/admin/").content.decode()
    assert "Stripe mirror" not in html and "/admin/djstripe/" not in html
    assert "Orders" in _sections(html)
    assert client.get("/admin/djstripe/").status_code == 404


def test_staff_given_the_permission_see_it(client, support):
    app_label, codename = STRIPE_MIRROR_PERMISSION.split(".")
    support.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client.force_login(support)
    sections = _sections(client.get("/admin/").content.decode())
    assert sections[-1] == "Stripe mirror"
