"""The staff roles, as groups of permissions: Agent, Supervisor, Privacy officer.

Groups stay editable in admin; this migration only creates them with their starting
permissions (superusers manage users and business numbers themselves).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT = [
    "messaging.view_conversation",
    "messaging.reply_conversation",
    "messaging.view_contact",
]
SUPERVISOR = [
    *AGENT,
    "messaging.assign_conversation",
    "messaging.close_any_conversation",
    "messaging.view_businessnumber",
    "messaging.view_messagetemplate",
    "messaging.change_messagetemplate",
]
PRIVACY_OFFICER = [
    "messaging.view_conversation",
    "messaging.view_contact",
    "privacy.view_deletionrequest",
    "privacy.add_deletionrequest",
    "privacy.change_deletionrequest",
    "privacy.erase_contact",
    "privacy.export_contact",
    "privacy.view_auditevent",
]
ROLES = {"Agent": AGENT, "Supervisor": SUPERVISOR, "Privacy officer": PRIVACY_OFFICER}


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrations run; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, permissions in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        for dotted in permissions:
            app_label, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("inbox", "0002_staff_number_scope"),
        ("messaging", "0003_outbox_and_templates"),
        ("privacy", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
