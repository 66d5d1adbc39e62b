from django.urls import path

from . import subscription_views, views

app_name = "shop"

urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("p/<slug:slug>/", views.product_detail, name="product_detail"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/update/", views.cart_update, name="cart_update"),
    path("cart/remove/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("account/", views.account, name="account"),
    path("accounts/signup/", views.signup, name="signup"),
    # Subscriptions (shop/subscription_views.py)
    path("plans/", subscription_views.plans, name="plans"),
    path("plans/subscribe/", subscription_views.subscribe, name="subscribe"),
    path("account/subscription/", subscription_views.subscription_detail, name="subscription"),
    path("account/subscription/<str:subscription_id>/change/", subscription_views.subscription_change,
         name="subscription_change"),
    path("account/subscription/<str:subscription_id>/cancel/", subscription_views.subscription_cancel,
         name="subscription_cancel"),
    path("account/subscription/<str:subscription_id>/resume/", subscription_views.subscription_resume,
         name="subscription_resume"),
    path("account/subscription/<str:subscription_id>/card/", subscription_views.subscription_card,
         name="subscription_card"),
]
