from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    """Project-wide security wiring: system checks, signal receivers, admin template tags."""

    name = "config"
    label = "security"
    verbose_name = _("Security")

    def ready(self):
        from django.contrib.auth import get_user_model, user_logged_in
        from django.db.models.signals import post_save

        from config import checks  # noqa: F401 - registers the credential checks
        from config.security import end_sessions_of_deactivated_user, start_session_clock

        user_logged_in.connect(start_session_clock, dispatch_uid="security.start_session_clock")
        post_save.connect(
            end_sessions_of_deactivated_user,
            sender=get_user_model(),
            dispatch_uid="security.end_sessions_of_deactivated_user",
        )
