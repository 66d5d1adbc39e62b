"""Who is who, by group: the roles the pages and the API check."""

from django.conf import settings


def accountants_group_name() -> str:
    return settings.ACCOUNTANTS_GROUP


def user_is_accountant(user) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.groups.filter(name=accountants_group_name()).exists()
