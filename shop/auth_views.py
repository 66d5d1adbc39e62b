"""Sign-in safety: the page shown while sign-ins are locked out (django-axes),
and the password reset that lifts the lockout of the account it resets."""

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import render


def login_locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: too many wrong passwords for this account or from this address."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return render(
        request,
        "registration/locked_out.html",
        {
            "username": username[:150],
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)),
            "seller_email": (settings.SHOP_SELLER or {}).get("email", ""),
        },
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Whoever proves they hold the account's mailbox may sign in at once with
    the new password, even if the account was locked out by someone guessing."""

    def form_valid(self, form):
        response = super().form_valid(form)
        axes_reset(username=form.user.get_username())
        return response
