"""Supervisors see the account's standing: bans, restrictions, reviews, number quality and
flagged or paused templates (messaging.view_accountevent: the inbox banner, the history in
the admin and the e-mail about each change). Agents and privacy officers do not: they cannot
act on it. Superusers have every permission already.

Only this permission is added (or taken away when unapplied); a missing group is created.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTED = {"Supervisor": [("messaging", "view_accountevent")]}


def ensure_permissions(apps):
    # Permissions are normally created after migrations run; this one is needed now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def permissions(apps, names):
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in names
    ]


def grant(apps, schema_editor):
    ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    for name, names in GRANTED.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions(apps, names))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, names in GRANTED.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*permissions(apps, names))


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0005_staff_profile_moved_to_staff"),
        ("messaging", "0011_account_events"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
