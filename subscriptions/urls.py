from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("plans/", views.plans, name="plans"),
    path("plans/subscribe/", views.subscribe, name="subscribe"),
    path("account/subscription/", views.subscription_detail, name="subscription"),
    path("account/subscription/<str:subscription_id>/change/", views.subscription_change,
         name="subscription_change"),
    path("account/subscription/<str:subscription_id>/cancel/", views.subscription_cancel,
         name="subscription_cancel"),
    path("account/subscription/<str:subscription_id>/resume/", views.subscription_resume,
         name="subscription_resume"),
    path("account/subscription/<str:subscription_id>/card/", views.subscription_card, name="subscription_card"),
    path("account/subscription/<str:subscription_id>/billing/", views.subscription_billing,
         name="subscription_billing"),
    path("account/subscription/<str:subscription_id>/pay/", views.subscription_pay, name="subscription_pay"),
]
