"""Dates as staff read them, in the organisation's time zone: `{% load inbox_time %}`
(the functions are in inbox.filters, shared with the Jinja2 partials)."""

from django import template

from inbox import filters

register = template.Library()

register.filter("short_when", filters.short_when)
register.filter("day_label", filters.day_label)
register.filter("moment", filters.moment)
register.filter("epoch_micros", filters.epoch_micros)
