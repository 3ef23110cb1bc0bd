"""The roles as issue 7 describes them, for databases that already have the groups of 0003.

- Agent: also writes internal notes and labels conversations (the inbox's note and label
  controls need automation.add_note and automation.apply_label).
- Supervisor: everything an agent does, plus managing automation in the admin: labels, quick
  replies, business hours, automatic replies and routing rules; and the e-mail about
  conversations left waiting.
- Privacy officer: no longer reads conversations. Deletion and access requests work from the
  contact and the export, which cover the data; reading the inbox is not the role's job.

Only these permissions are added or taken away, so other changes an administrator made to the
groups since stay as they are; running it again changes nothing. A missing group is created.
"""

import importlib

from django.contrib.auth.management import create_permissions
from django.db import migrations

AUTOMATION_SETTINGS = [
    "label", "quickreply", "quickreplytext", "businesshours", "openingperiod", "holiday",
    "autoreply", "routingrule",
]  # fmt: skip

AGENT = [
    "messaging.view_conversation",
    "messaging.reply_conversation",
    "messaging.view_contact",
    "automation.add_note",
    "automation.apply_label",
]
SUPERVISOR = [
    *AGENT,
    "messaging.assign_conversation",
    "messaging.close_any_conversation",
    "messaging.view_businessnumber",
    "messaging.view_messagetemplate",
    "messaging.change_messagetemplate",
    "automation.receive_waiting_alerts",
    *(
        f"automation.{action}_{model}"
        for model in AUTOMATION_SETTINGS
        for action in ("add", "change", "delete", "view")
    ),
]
PRIVACY_OFFICER = [
    "messaging.view_contact",
    "privacy.view_deletionrequest",
    "privacy.add_deletionrequest",
    "privacy.change_deletionrequest",
    "privacy.erase_contact",
    "privacy.export_contact",
    "privacy.view_auditevent",
]
ROLES = {"Agent": AGENT, "Supervisor": SUPERVISOR, "Privacy officer": PRIVACY_OFFICER}
# Granted by 0003 and wrong for the role.
REVOKED = {"Privacy officer": ["messaging.view_conversation"]}


def permissions(apps, dotted_names):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for dotted in dotted_names:
        app_label, codename = dotted.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def ensure_permissions(apps):
    # Permissions are normally created after migrations run; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def update_roles(apps, schema_editor):
    ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    for name, granted in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions(apps, granted))
        group.permissions.remove(*permissions(apps, REVOKED.get(name, [])))


def restore_roles(apps, schema_editor):
    before = importlib.import_module("inbox.migrations.0003_roles").ROLES
    Group = apps.get_model("auth", "Group")
    for name, granted in ROLES.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        added = [dotted for dotted in granted if dotted not in before[name]]
        group.permissions.remove(*permissions(apps, added))
        group.permissions.add(*permissions(apps, REVOKED.get(name, [])))


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0001_initial"),
        ("inbox", "0003_roles"),
        ("messaging", "0006_inbox_indexes"),
        ("privacy", "0002_retention_schedule"),
    ]

    operations = [migrations.RunPython(update_roles, restore_roles)]
