"""The shop's admin site: Django's, with its index tidied for staff.

dj-stripe registers about 45 models (the mirror of what Stripe holds). Staff
work with the shop's own pages (orders, refunds, disputes, documents,
subscriptions); the mirror is for whoever debugs a synchronisation. So the
index lists it as one section, "Stripe mirror", after every other app and
folded, and only to superusers and to staff given STRIPE_MIRROR_PERMISSION;
other staff do not see it in the index or the sidebar (its pages still answer
to the permissions each model has, as every admin page does).
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig

STRIPE_MIRROR_APP = "djstripe"
STRIPE_MIRROR_NAME = "Stripe mirror"
# Granted to whoever needs the mirror in the index (superusers have every permission).
STRIPE_MIRROR_PERMISSION = "djstripe.view_event"


def stripe_mirror_visible(user) -> bool:
    return user.is_active and (user.is_superuser or user.has_perm(STRIPE_MIRROR_PERMISSION))


class ShopAdminSite(AdminSite):
    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        mirror = [app for app in app_list if app["app_label"] == STRIPE_MIRROR_APP]
        others = [app for app in app_list if app["app_label"] != STRIPE_MIRROR_APP]
        if not mirror or not stripe_mirror_visible(request.user):
            return others
        # Folded in lists of several apps (index, sidebar); open on its own page.
        return [*others, {**mirror[0], "name": STRIPE_MIRROR_NAME, "collapsed": app_label is None}]


class ShopAdminConfig(AdminConfig):
    """In INSTALLED_APPS instead of "django.contrib.admin": admin.site is a ShopAdminSite."""

    default_site = "dashboard.admin_site.ShopAdminSite"
