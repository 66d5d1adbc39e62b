"""`Authorization: Bearer <key>` (or `Token <key>`): the API acts as the token's user."""

from rest_framework import authentication, exceptions

from .tokens import api_token_authenticate

KEYWORDS = ("bearer", "token")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the key as `Authorization: Bearer <key>`.")
        try:
            key = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The key holds characters a key never has.") from None
        token = api_token_authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed("This API key is not valid: unknown, revoked or expired.")
        return token.user, token

    def authenticate_header(self, request):
        # A 401 (not 403) for a missing or wrong key, with the scheme to use.
        return 'Bearer realm="api"'
