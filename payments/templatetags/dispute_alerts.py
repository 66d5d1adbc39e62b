"""`{% load dispute_alerts %}{% disputes_needing_response as disputes %}`: the
admin index's warning, nearest evidence deadline first."""

from django import template

register = template.Library()


@register.simple_tag
def disputes_needing_response(limit: int = 20):
    from payments.disputes import disputes_needing_response as needing

    return list(needing()[:limit])
