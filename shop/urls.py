from django.urls import path

from . import auth_views, views

app_name = "shop"

urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("p/<slug:slug>/", views.product_detail, name="product_detail"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/update/", views.cart_update, name="cart_update"),
    path("cart/remove/", views.cart_remove, name="cart_remove"),
    path("cart/discount/", views.cart_discount, name="cart_discount"),
    path("checkout/", views.checkout, name="checkout"),
    path("account/", views.account, name="account"),
    path("accounts/signup/", auth_views.signup, name="signup"),
    path("accounts/signup/<uidb64>/<token>/", auth_views.signup_confirm, name="signup_confirm"),
]
