from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

_UNSET = object()


class StaffProfileManager(models.Manager):
    def number_scope(self, user):
        """None when `user` may see every business number, else the ids of those they may see.

        The one definition of number scope: every query that returns conversations, contacts,
        messages or media narrows on it (the messaging models' `visible_to`), so a number
        outside someone's scope is a 404 for them everywhere. Looked up once per request
        (cached on the user object the request carries); the user a session signs in comes
        with their profile's numbers already read (staff.backends).
        """
        scope = getattr(user, "_number_scope", _UNSET)
        if scope is _UNSET:
            ids = ()
            if not user.is_superuser:
                allowed = self.model.numbers.through.objects.filter(staffprofile__user=user)
                ids = allowed.values_list("businessnumber_id", flat=True)
            scope = self.keep_scope(user, ids)
        return scope

    def language_of(self, user):
        """The language `user` reads the interface in: what goes to them outside a request
        (e-mails from tasks) is written in it."""
        language = self.filter(user=user).values_list("language", flat=True).first()
        return language or settings.LANGUAGE_CODE

    def keep_scope(self, user, number_ids):
        """Remember `user`'s scope from the ids of the numbers their profile lists."""
        user._number_scope = None if user.is_superuser else set(number_ids) or None
        return user._number_scope


class Theme(models.TextChoices):
    SYSTEM = "system", _("System")
    LIGHT = "light", _("Light")
    DARK = "dark", _("Dark")


class StaffProfile(models.Model):
    """Per-person settings that follow a staff member from device to device."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    theme = models.CharField(
        _("theme"),
        max_length=10,
        choices=Theme.choices,
        default=Theme.SYSTEM,
        help_text=_("System follows the device's light or dark setting."),
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

    objects = StaffProfileManager()

    class Meta:
        # Created by the inbox app, which held this model first; the table stayed where it was.
        db_table = "inbox_staffprofile"
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self):
        return str(self.user)
