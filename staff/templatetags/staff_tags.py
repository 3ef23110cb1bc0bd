"""The staff rules templates ask about (staff.permissions): the navigation mirrors them."""

from django import template

from staff import permissions

register = template.Library()


@register.filter
def may_use_admin(user):
    return permissions.may_use_admin(user)
