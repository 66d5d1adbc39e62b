"""`{% load dispute_alerts %}{% disputes_needing_response as disputes %}`: the
admin index's warning, nearest evidence deadline first."""

from django import template

from payments import selectors

register = template.Library()


@register.simple_tag
def disputes_needing_response(limit: int = 20):
    return list(selectors.disputes_needing_response()[:limit])
