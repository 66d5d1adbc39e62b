"""API tokens in admin: staff create one for a user (the key is shown once,
on the page that answers the form) and revoke it; nothing else changes."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from .models import ApiToken
from .tokens import TokenError, api_token_check, api_token_create, api_token_revoke


class ApiTokenCreateForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name", "expires_at"]

    def clean(self):
        data = super().clean()
        if data.get("user") is not None:
            try:
                api_token_check(user=data["user"], name=data.get("name", ""), expires_at=data.get("expires_at"))
            except TokenError as error:
                raise forms.ValidationError(str(error)) from error
        return data


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "key_prefix", "state", "created_at", "created_by", "last_used_at", "expires_at",
                    "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "key_prefix", "user__username", "user__email")
    list_select_related = ("user", "created_by")
    actions = ["revoke"]
    form = ApiTokenCreateForm
    autocomplete_fields = ("user",)  # a shop has many users: search, don't scroll
    readonly_fields = ("user", "name", "key_prefix", "state", "created_at", "created_by", "expires_at",
                       "last_used_at", "revoked_at", "revoked_by")

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ("user", "name", "expires_at")

    def has_change_permission(self, request, obj=None):
        # Nothing of a token changes but its revocation (the action); the
        # change page reads it.
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revoked tokens stay listed for the record

    def has_revoke_permission(self, request):
        return request.user.has_perm("api.change_apitoken")

    @admin.display(description="State")
    def state(self, obj):
        return obj.state

    def save_model(self, request, obj, form, change):
        if change:  # pragma: no cover - the change form has no editable field
            return
        token, key = api_token_create(user=form.cleaned_data["user"], name=form.cleaned_data["name"],
                                      created_by=request.user, expires_at=form.cleaned_data.get("expires_at"))
        obj.pk = token.pk
        obj.__dict__.update(token.__dict__)
        obj.plain_key = key

    def response_add(self, request, obj, post_url_continue=None):
        # The key is on this page only: it is stored nowhere (only its hash is).
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API token created",
            "token": obj,
            "key": obj.plain_key,
            "has_view_permission": True,
        }
        response = TemplateResponse(request, "admin/api/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token_id=token.pk, revoked_by=request.user)
            count += 1
        self.message_user(request, f"{count} token(s) revoked: requests with them are refused from now on.",
                          messages.SUCCESS)
