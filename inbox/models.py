from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffProfile(models.Model):
    """Per-person settings that follow a staff member from device to device."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    # Empty: every business number. Otherwise conversations of other numbers do not exist for
    # this person (404 everywhere: lists, search, conversations, media, polls).
    numbers = models.ManyToManyField(
        "messaging.BusinessNumber",
        verbose_name=_("business numbers this person may see"),
        blank=True,
        related_name="+",
        help_text=_("Leave empty to allow every number."),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self):
        return str(self.user)
