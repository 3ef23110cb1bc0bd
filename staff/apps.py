from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    """The base layer every app may import: who the staff are and what each may see and do."""

    name = "staff"
    verbose_name = _("Staff")
