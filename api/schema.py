"""How the API's own pieces appear in the OpenAPI schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key, created for a user by staff in admin (API tokens) and shown once: "
                           "`Authorization: Bearer shop_...`. The API then sees what that user sees.",
        }
