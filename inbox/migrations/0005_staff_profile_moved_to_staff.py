"""StaffProfile now belongs to the staff app (staff's 0001): the inbox app forgets it without
touching its tables, and the model's content type follows it, so the permissions that point at
it (and whoever holds them) stay as they are."""

from django.db import migrations


def move_content_type(apps, from_app, to_app):
    ContentType = apps.get_model("contenttypes", "ContentType")
    moving = ContentType.objects.filter(app_label=from_app, model="staffprofile")
    if moving.exists():
        # One for the other place may have been created meanwhile (post_migrate, after
        # migrating back with this code installed): it has only Django's default
        # permissions, which the moving one has too, along with whoever holds them.
        ContentType.objects.filter(app_label=to_app, model="staffprofile").delete()
        moving.update(app_label=to_app)


def to_staff(apps, schema_editor):
    move_content_type(apps, "inbox", "staff")


def to_inbox(apps, schema_editor):
    move_content_type(apps, "staff", "inbox")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("inbox", "0004_role_permissions"),
        ("staff", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="StaffProfile")],
        ),
        migrations.RunPython(to_staff, to_inbox),
    ]
