import pytest
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import RequestFactory

from catalog.models import Category, Product, TaxRate

pytestmark = pytest.mark.django_db


def authenticate(**credentials):
    # A sign-in always comes with its request (the login throttling counts by address).
    return auth.authenticate(RequestFactory().post("/accounts/login/"), **credentials)


def test_seed_twice_makes_no_duplicates(capsys):
    call_command("seed_shop")
    first = capsys.readouterr().out
    counts = (TaxRate.objects.count(), Category.objects.count(), Product.objects.count(), get_user_model().objects.count())
    call_command("seed_shop")
    assert (TaxRate.objects.count(), Category.objects.count(), Product.objects.count(),
            get_user_model().objects.count()) == counts
    assert Group.objects.filter(name__in=["Accountants", "Support"]).count() == 2

    assert counts[1] >= 3 and counts[2] >= 12
    assert Product.objects.values("tax_rate").distinct().count() >= 2
    assert Product.objects.filter(stock=0).exists()
    assert Product.objects.filter(stock=1).exists()
    assert not Product.objects.exclude(image__startswith="shop/img/").exists()
    for login in ("customer@example.com", "admin", "accountant", "support"):
        assert login in first


def test_seed_images_exist():
    from django.contrib.staticfiles import finders

    call_command("seed_shop", "--no-users")
    for product in Product.objects.all():
        assert finders.find(product.image), product.image


def test_seed_demo_users_and_roles():
    call_command("seed_shop")
    User = get_user_model()
    assert authenticate(username="customer@example.com", password="customer-demo-pass")
    admin = authenticate(username="admin", password="admin-demo-pass")
    assert admin.is_staff and admin.is_superuser
    accountant = authenticate(username="accountant", password="accountant-demo-pass")
    assert not accountant.is_staff and accountant.groups.filter(name="Accountants").exists()
    support = authenticate(username="support", password="support-demo-pass")
    assert support.is_staff and not support.is_superuser and support.groups.filter(name="Support").exists()
    assert User.objects.filter(username="customer@example.com", is_staff=False).exists()


def test_seed_demo_password_override(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "one-password-for-all")
    call_command("seed_shop")
    assert authenticate(username="admin", password="one-password-for-all")
    assert authenticate(username="accountant", password="one-password-for-all")
    assert not authenticate(username="admin", password="admin-demo-pass")
