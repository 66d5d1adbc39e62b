"""Seed the demo catalogue and the demo logins. Safe to run again: rows are
matched by slug / sku / username and updated in place, never duplicated.

    python manage.py seed_shop
    DEMO_PASSWORD=something python manage.py seed_shop   # one password for every demo login
"""

import os
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.models import Category, Product, TaxRate

TAX_RATES = {
    # key: (name, rate, country, tax category: the rate in other EU states, billing.vat_rates)
    "standard": ("Standard rate", Decimal("20.00"), "FR", "standard"),
    "reduced": ("Reduced rate (food)", Decimal("5.50"), "FR", "food"),
    "books": ("Reduced rate (books)", Decimal("5.50"), "FR", "books"),
    "super_reduced": ("Super-reduced rate (press)", Decimal("2.10"), "FR", "press"),
}

CATEGORIES = [
    # slug, name, position
    ("coffee-tea", "Coffee & tea", 1),
    ("brewing-gear", "Brewing gear", 2),
    ("books-magazines", "Books & magazines", 3),
    ("stationery", "Stationery", 4),
]

PRODUCTS = [
    # sku, slug, name, category, tax, unit_amount (cents, VAT incl.), stock, description
    ("COF-ETH-250", "ethiopia-yirgacheffe-250g", "Ethiopia Yirgacheffe, whole beans 250 g", "coffee-tea", "reduced",
     1290, 40, "A washed coffee from the Gedeo zone with notes of jasmine, bergamot and lemon. "
     "Light roast, roasted in Paris every Tuesday."),
    ("COF-COL-1KG", "colombia-huila-1kg", "Colombia Huila, whole beans 1 kg", "coffee-tea", "reduced",
     3900, 12, "Chocolate, red apple and caramel. A medium roast for espresso and filter alike."),
    ("TEA-SEN-100", "sencha-green-tea-100g", "Japanese Sencha green tea 100 g", "coffee-tea", "reduced",
     950, 25, "A spring harvest from Shizuoka, steamed and rolled. Brew at 70 °C for one minute."),
    ("TEA-EGR-100", "earl-grey-tea-100g", "Earl Grey loose-leaf tea 100 g", "coffee-tea", "reduced",
     820, 0, "Ceylon black tea scented with Calabrian bergamot oil. Back in stock soon."),
    ("GEAR-MUG-350", "stoneware-mug-350ml", "Stoneware mug 350 ml", "brewing-gear", "standard",
     1600, 30, "Hand-glazed stoneware, dishwasher safe. Each one is slightly different."),
    ("GEAR-DRP-V02", "ceramic-pour-over-dripper", "Ceramic pour-over dripper", "brewing-gear", "standard",
     2490, 1, "A cone dripper for one to four cups, with spiral ribs for an even flow. Uses size 02 filters."),
    ("GEAR-FRP-1L", "french-press-1l", "French press 1 L", "brewing-gear", "standard",
     3450, 8, "Borosilicate glass and stainless steel; a four-layer mesh filter keeps the grounds out."),
    ("GEAR-GRD-HND", "hand-coffee-grinder", "Hand coffee grinder", "brewing-gear", "standard",
     5900, 5, "Conical steel burrs with 30 click settings, from espresso to French press."),
    ("GEAR-TPT-800", "glass-teapot-800ml", "Glass teapot 800 ml", "brewing-gear", "standard",
     2990, 3, "Heat-resistant glass with a removable stainless steel infuser."),
    ("BOOK-BARISTA", "home-barista-handbook", "The Home Barista Handbook", "books-magazines", "books",
     2700, 10, "From the bean to the cup: grinding, dosing, water and milk, explained with 120 photographs. "
     "Hardback, 240 pages."),
    ("BOOK-TEA-HIST", "short-history-of-tea", "A Short History of Tea", "books-magazines", "books",
     1950, 7, "Four thousand years of tea, from Yunnan to the English breakfast table. Paperback, 192 pages."),
    ("MAG-BQ-042", "barista-quarterly-42", "Barista Quarterly, issue 42", "books-magazines", "super_reduced",
     790, 60, "The spring issue: a visit to Huila's growers, a grinder test and ten recipes for cold brew."),
    ("STAT-NTB-A5", "dotted-notebook-a5", "Dotted notebook A5", "stationery", "standard",
     1400, 50, "192 numbered pages of 100 g/m² paper, lay-flat binding, elastic closure."),
    ("STAT-PEN-FTN", "fountain-pen", "Fountain pen, medium nib", "stationery", "standard",
     4200, 9, "A brass fountain pen with a steel medium nib, supplied with a converter and two cartridges."),
]

DEMO_USERS = [
    # username, e-mail, default password, is_staff, is_superuser, group
    ("customer@example.com", "customer@example.com", "customer-demo-pass", False, False, None),
    ("admin", "admin@example.com", "admin-demo-pass", True, True, None),
    ("accountant", "accountant@example.com", "accountant-demo-pass", False, False, "Accountants"),
    ("support", "support@example.com", "support-demo-pass", True, False, "Support"),
]


class Command(BaseCommand):
    help = "Create or update the demo catalogue (tax rates, categories, products) and the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--no-users", action="store_true", help="Seed the catalogue only.")

    @transaction.atomic
    def handle(self, *args, **options):
        rates = {}
        for key, (name, rate, country, category) in TAX_RATES.items():
            rates[key], _ = TaxRate.objects.update_or_create(
                country=country, rate=rate, category=category, defaults={"name": name}
            )
        categories = {}
        for slug, name, position in CATEGORIES:
            categories[slug], _ = Category.objects.update_or_create(
                slug=slug, defaults={"name": name, "position": position}
            )
        created = 0
        for sku, slug, name, category, tax, amount, stock, description in PRODUCTS:
            _, was_created = Product.objects.update_or_create(
                sku=sku,
                defaults={
                    "slug": slug,
                    "name": name,
                    "category": categories[category],
                    "tax_rate": rates[tax],
                    "unit_amount": amount,
                    "currency": "eur",
                    "stock": stock,
                    "description": description,
                    "image": f"shop/img/{slug}.svg",
                    "active": True,
                },
            )
            created += was_created
        self.stdout.write(
            f"Catalogue: {len(rates)} tax rates, {len(categories)} categories, "
            f"{len(PRODUCTS)} products ({created} new)."
        )
        if options["no_users"]:
            return

        groups = self._groups()
        password_override = os.environ.get("DEMO_PASSWORD")
        User = get_user_model()
        logins = []
        for username, email, password, is_staff, is_superuser, group in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
            user.email = email
            user.is_staff = is_staff
            user.is_superuser = is_superuser
            user.is_active = True
            user.set_password(password_override or password)
            user.save()
            if group:
                user.groups.add(groups[group])
            logins.append((username, password_override or password, group or ("superuser" if is_superuser else "customer")))

        self.stdout.write(self.style.SUCCESS("Demo logins (sign in at /accounts/login/, staff at /admin/):"))
        for username, password, role in logins:
            self.stdout.write(f"  {role:<12} {username:<24} {password}")
        if not password_override:
            self.stdout.write("  (set DEMO_PASSWORD to give every demo login that password instead)")

    def _groups(self) -> dict[str, Group]:
        """Accountants read documents and orders; support reads orders and payments,
        may edit products (stock) and unlock sign-in lockouts. Permissions that do not exist yet (an app
        without migrations) are skipped; running the command again adds them."""
        accountants, _ = Group.objects.get_or_create(name="Accountants")
        support, _ = Group.objects.get_or_create(name="Support")
        billing = Permission.objects.filter(content_type__app_label="billing")
        accountants.permissions.add(
            # Read everything in billing, plus its custom permissions (downloads,
            # exports); never add/change/delete: issued documents are immutable.
            *billing.exclude(codename__regex=r"^(add|change|delete)_"),
            *Permission.objects.filter(content_type__app_label__in=["orders", "payments", "audit", "subscriptions"],
                                       codename__startswith="view_"),
            # The accounting pages themselves check the group; these show the
            # "Accounting" link and the export/closed-period records in admin.
            *Permission.objects.filter(content_type__app_label="accounting", codename__startswith="view_"),
        )
        support.permissions.add(
            *Permission.objects.filter(
                content_type__app_label__in=["orders", "payments", "catalog", "billing", "subscriptions", "audit"],
                codename__startswith="view_",
            ),
            *Permission.objects.filter(content_type__app_label="catalog", codename="change_product"),
            # Refunds and dispute evidence (money leaves or is defended): Support
            # only; and running a stuck webhook event again once its cause is fixed.
            *Permission.objects.filter(content_type__app_label="payments",
                                       codename__in=["add_refund", "submit_dispute_evidence", "run_webhookevent"]),
            # The e-mail outbox: see what was not sent, and send it again.
            *Permission.objects.filter(content_type__app_label="core",
                                       codename__in=["view_outgoingemail", "change_outgoingemail"]),
            # Unlock a customer locked out of signing in (django-axes: delete the access attempts).
            *Permission.objects.filter(content_type__app_label="axes",
                                       codename__in=["view_accessattempt", "delete_accessattempt"]),
        )
        return {"Accountants": accountants, "Support": support}
