from django.contrib import admin

from core.money import format_money

from .models import Category, Product, TaxRate


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["name", "rate", "country", "category"]
    list_filter = ["country", "category"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "category", "price", "tax_rate", "stock", "active"]
    list_editable = ["stock", "active"]
    list_filter = ["category", "active", "tax_rate"]
    search_fields = ["name", "sku"]
    list_select_related = ["category", "tax_rate"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category"]
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "sku", "category", "description", "image", "active"]}),
        ("Price", {"fields": ["unit_amount", "currency", "tax_rate", "supply"],
                   "description": "Minor units (cents), VAT included at the tax rate (the seller's country's)."}),
        ("Stock", {"fields": ["stock", "created_at"]}),
    ]

    @admin.display(description="Price (VAT incl.)", ordering="unit_amount")
    def price(self, obj):
        return format_money(obj.unit_amount, obj.currency)
