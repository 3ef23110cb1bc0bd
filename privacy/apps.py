from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = _("Privacy")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from messaging import hooks, signals
        from privacy import audit, checks  # noqa: F401 - checks registers the retention checks
        from privacy.redelivery import ErasedPeopleGuard
        from privacy.retention import daily_retention

        user_logged_in.connect(audit.on_login, dispatch_uid="privacy.audit.login")
        user_login_failed.connect(audit.on_login_failed, dispatch_uid="privacy.audit.login_failed")
        user_logged_out.connect(audit.on_logout, dispatch_uid="privacy.audit.logout")
        signals.reply_queued.connect(audit.on_reply_queued, dispatch_uid="privacy.audit.reply")
        signals.send_retried.connect(audit.on_send_retried, dispatch_uid="privacy.audit.retry")
        signals.personal_data_viewed.connect(
            audit.on_personal_data_viewed, dispatch_uid="privacy.audit.personal_data_viewed"
        )
        hooks.register_redelivery_guard(ErasedPeopleGuard())
        hooks.register_maintenance_job(daily_retention)
