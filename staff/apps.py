from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    """The base layer every app may import: who the staff are and what each may see and do."""

    name = "staff"
    verbose_name = _("Staff")

    def ready(self):
        from django.contrib.auth import get_user_model, user_logged_in
        from django.db.models.signals import post_save

        from staff import checks  # noqa: F401 - registers the sign-in deployment checks
        from staff.security import end_sessions_of_deactivated_user, start_session_clock

        user_logged_in.connect(start_session_clock, dispatch_uid="staff.start_session_clock")
        post_save.connect(
            end_sessions_of_deactivated_user,
            sender=get_user_model(),
            dispatch_uid="staff.end_sessions_of_deactivated_user",
        )
