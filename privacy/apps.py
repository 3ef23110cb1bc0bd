from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = _("Privacy")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from privacy import audit, checks  # noqa: F401 - checks registers the retention checks

        user_logged_in.connect(audit.on_login, dispatch_uid="privacy.audit.login")
        user_login_failed.connect(audit.on_login_failed, dispatch_uid="privacy.audit.login_failed")
        user_logged_out.connect(audit.on_logout, dispatch_uid="privacy.audit.logout")
