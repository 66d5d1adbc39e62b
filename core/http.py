"""HTTP helpers every app's views share."""

from django.http import HttpResponseRedirect


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a POST, the browser follows with a GET (e.g. to Stripe's page)."""

    status_code = 303
