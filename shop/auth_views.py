"""Accounts without leaks: the page shown while sign-ins are locked out
(django-axes), the password reset that lifts the lockout of the account it
resets, and a signup that answers the same whether or not the address has an
account (confirmed by a link sent to it)."""

from urllib.parse import urlencode

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.views.decorators.http import require_GET, require_http_methods

from core.email import email_queue, templated_email
from core.http import safe_next_url

from .forms import SignupForm


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


def login_username(request, credentials=None) -> str:
    """AXES_USERNAME_CALLABLE: the username tried, at most as long as a username
    can be (a 5,000-character one is counted, not stored whole)."""
    username = (credentials or {}).get("username") or request.POST.get("username") or ""
    return str(username)[: get_user_model()._meta.get_field("username").max_length]


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Whoever proves they hold the account's mailbox may sign in at once with
    the new password, even if the account was locked out by someone guessing."""

    def form_valid(self, form):
        response = super().form_valid(form)
        axes_reset(username=form.user.get_username())
        return response


# -- signup ----------------------------------------------------------------------
# The answer to a signup is the same whether or not the address has an account
# ("check your inbox"), so the form cannot be used to learn who is a customer.
# A new address gets a link that activates the account; an address that has an
# account gets an e-mail saying so, with links to sign in or reset the password.


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path)


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("shop:account")
    form = SignupForm(request.POST or None)
    next_url = safe_next_url(request, "")
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        User = get_user_model()
        existing = (
            User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).order_by("-is_active", "pk").first()
        )
        if existing is not None and (existing.is_active or existing.last_login):
            message = templated_email(
                template="registration/email/account_exists",
                context={
                    "login_url": _absolute(request, reverse("login")),
                    "reset_url": _absolute(request, reverse("password_reset")),
                    "shop_name": settings.SHOP_NAME,
                },
                to=[email],
            )
        else:
            # New, or signed up before and never confirmed: (re)set its password
            # and send the link again (the previous link stops working).
            user = existing or form.instance
            user.username = user.email = email
            user.is_active = False
            user.set_password(form.cleaned_data["password1"])
            try:
                with transaction.atomic():
                    user.save()
            except IntegrityError:  # the same address signed up at the same moment: one account, one link
                return render(request, "registration/signup_done.html", {"email": email})
            path = reverse("shop:signup_confirm", args=[urlsafe_base64_encode(force_bytes(user.pk)),
                                                        default_token_generator.make_token(user)])
            if next_url:
                path += "?" + urlencode({"next": next_url})
            message = templated_email(
                template="registration/email/signup_confirm",
                context={"confirm_url": _absolute(request, path), "shop_name": settings.SHOP_NAME},
                to=[email],
            )
        email_queue(message)  # sent after commit; retried if the mail server is down
        return render(request, "registration/signup_done.html", {"email": email})
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


@require_GET
def signup_confirm(request, uidb64, token):
    """The link from the signup e-mail: the account becomes active and signed in."""
    User = get_user_model()
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))), is_active=False)
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or user.last_login or not default_token_generator.check_token(user, token):
        return render(request, "registration/signup_invalid.html", status=400)
    user.is_active = True
    user.save(update_fields=["is_active"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, "Welcome! Your account has been created.")
    return redirect(safe_next_url(request, reverse("shop:account")))
