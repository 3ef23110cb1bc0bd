from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "automation"
    verbose_name = _("Teamwork and automation")

    def ready(self):
        from automation import receivers
        from automation.maintenance import automation_upkeep
        from messaging import hooks, signals

        signals.messages_received.connect(
            receivers.run_for_new_messages, dispatch_uid="automation.run_for_new_messages"
        )
        signals.conversations_merging.connect(
            receivers.merge_priorities, dispatch_uid="automation.merge_priorities"
        )
        hooks.register_maintenance_job(automation_upkeep)
