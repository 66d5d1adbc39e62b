import pytest
from django.urls import reverse

from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_product_list_shows_price_availability_and_image(client, mug):
    ProductFactory(name="Last pour-over", stock=1)
    ProductFactory(name="Sold-out tea", stock=0)
    response = client.get(reverse("shop:product_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stoneware mug" in html
    assert "€16.00" in html
    assert "In stock" in html
    assert "Only 1 left" in html
    assert "Out of stock" in html
    assert "/static/shop/img/placeholder.svg" in html
    assert reverse("shop:product_detail", args=["mug"]) in html


def test_product_list_hides_inactive_products(client):
    ProductFactory(name="Visible kettle")
    ProductFactory(name="Retired kettle", active=False)
    html = client.get(reverse("shop:product_list")).content.decode()
    assert "Visible kettle" in html
    assert "Retired kettle" not in html


def test_product_list_pages_by_twelve(client):
    category = CategoryFactory()
    for i in range(14):
        ProductFactory(name=f"Item {i:02d}", category=category)
    first = client.get(reverse("shop:product_list"))
    assert len(first.context["products"]) == 12
    html = first.content.decode()
    assert "Page 1" in html and 'href="?page=2"' in html and "Previous" not in html
    second = client.get(reverse("shop:product_list"), {"page": 2})
    assert [p.name for p in second.context["products"]] == ["Item 12", "Item 13"]
    assert "Next" not in second.content.decode() and 'href="?page=1"' in second.content.decode()
    # A garbage page shows the first; one past the end says so, with a way back.
    assert client.get(reverse("shop:product_list"), {"page": "zzz"}).context["page_obj"].number == 1
    beyond = client.get(reverse("shop:product_list"), {"page": 99})
    assert beyond.status_code == 200
    assert "There is no page 99 here." in beyond.content.decode() and "Back to the first page" in beyond.content.decode()


def test_the_list_counts_nothing(client):
    """No COUNT over every product: the page reads one row more than it shows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(14):
        ProductFactory(name=f"Item {i:02d}")
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("shop:product_list"))
    assert not [q for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]


def test_product_list_filters_by_category_and_keeps_filter_when_paging(client):
    tea = CategoryFactory(name="Tea", slug="tea")
    gear = CategoryFactory(name="Gear", slug="gear")
    for i in range(13):
        ProductFactory(name=f"Tea {i:02d}", category=tea)
    ProductFactory(name="Kettle", category=gear)
    response = client.get(reverse("shop:product_list"), {"category": "tea"})
    names = [p.name for p in response.context["products"]]
    assert "Kettle" not in names and len(names) == 12
    assert "category=tea&amp;page=2" in response.content.decode()
    response = client.get(reverse("shop:product_list"), {"category": "gear"})
    assert [p.name for p in response.context["products"]] == ["Kettle"]
    assert client.get(reverse("shop:product_list"), {"category": "nope"}).status_code == 404


def test_product_detail_shows_price_vat_rate_availability_and_form(client, mug, coffee):
    response = client.get(reverse("shop:product_detail", args=["mug"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "€16.00" in html
    assert "incl. 20% VAT" in html
    assert "In stock" in html
    assert "A fine product." in html
    assert f'action="{reverse("shop:cart_add")}"' in html
    assert 'name="quantity"' in html
    assert "incl. 5.5% VAT" in client.get(reverse("shop:product_detail", args=["coffee"])).content.decode()


def test_product_detail_out_of_stock_has_no_add_form(client):
    ProductFactory(slug="gone", stock=0)
    html = client.get(reverse("shop:product_detail", args=["gone"])).content.decode()
    assert "Out of stock" in html
    assert reverse("shop:cart_add") not in html


def test_inactive_or_unknown_product_is_404(client):
    ProductFactory(slug="retired", active=False)
    assert client.get(reverse("shop:product_detail", args=["retired"])).status_code == 404
    assert client.get(reverse("shop:product_detail", args=["nothing"])).status_code == 404


def test_base_layout_has_nav_cart_count_and_sign_in(client, mug):
    html = client.get(reverse("shop:product_list")).content.decode()
    assert "Example Shop" in html
    assert reverse("shop:cart") in html
    assert 'data-testid="cart-count"' in html
    assert "Sign in" in html
    assert "/static/shop/css/shop.css" in html
    assert "http://" not in html.split("<body")[0] and "https://" not in html.split("<body")[0]


def test_favicon_ico_is_the_shops_icon(client):
    """Pages that name no icon (the admin's, a PDF in a tab) make browsers ask
    for /favicon.ico: it leads to the shop's icon, not a 404."""
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/shop/img/favicon.svg"
    assert finders.find("shop/img/favicon.svg")


def test_shop_name_from_setting(client, settings, mug):
    settings.SHOP_NAME = "Café Bleu"
    html = client.get(reverse("shop:product_list")).content.decode()
    assert "Café Bleu" in html


def test_catalogue_order_is_category_then_name_and_follows_changes(client):
    from catalog.models import Category

    tea = CategoryFactory(name="Tea", slug="tea-order", position=2)
    gear = CategoryFactory(name="Gear", slug="gear-order", position=1)
    CategoryFactory(name="Empty", slug="empty-order", position=0)
    for name, category in (("Sencha", tea), ("Assam", tea), ("Mug", gear), ("Kettle", gear)):
        ProductFactory(name=name, category=category)

    def names():
        return [p.name for p in client.get(reverse("shop:product_list")).context["products"]]

    assert names() == ["Kettle", "Mug", "Assam", "Sencha"]
    # Only categories with something to sell are in the bar.
    bar = [c.name for c in client.get(reverse("shop:product_list")).context["categories"]]
    assert bar == ["Gear", "Tea"]

    tea.position = 0
    tea.save()
    assert names() == ["Assam", "Sencha", "Kettle", "Mug"]
    mug = Category.objects.get(pk=gear.pk).products.get(name="Mug")
    mug.category = tea
    mug.save(update_fields=["category"])
    assert names() == ["Assam", "Mug", "Sencha", "Kettle"]
