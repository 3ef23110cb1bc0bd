from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("WhatsApp messaging")

    def ready(self) -> None:
        # Here, not at the top: these modules import the models, which Django may load only
        # once every app's configuration is (Django's own way of connecting in ready()).
        from messaging import checks  # noqa: F401 - registers the system checks
        from messaging.hooks import register_maintenance_job
        from messaging.ingest import requeue_stranded
        from messaging.tasks import sweep_outbox
        from messaging.worker import fail_orphaned_tasks

        register_maintenance_job(fail_orphaned_tasks)  # first: frees bodies for the next job
        register_maintenance_job(requeue_stranded)
        register_maintenance_job(sweep_outbox)
