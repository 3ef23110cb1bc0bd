"""StaffProfile moved from the inbox app to staff with its tables and permissions unchanged."""

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from staff.models import StaffProfile

pytestmark = pytest.mark.django_db

moved = importlib.import_module("inbox.migrations.0005_staff_profile_moved_to_staff")


def test_it_keeps_the_tables_the_inbox_app_created():
    assert StaffProfile._meta.db_table == "inbox_staffprofile"
    assert StaffProfile.numbers.through._meta.db_table == "inbox_staffprofile_numbers"
    assert {"inbox_staffprofile", "inbox_staffprofile_numbers"} <= set(
        connection.introspection.table_names()
    )


def test_its_permissions_belong_to_the_staff_app():
    content_type = ContentType.objects.get_for_model(StaffProfile)

    assert content_type.app_label == "staff"
    assert not ContentType.objects.filter(app_label="inbox", model="staffprofile").exists()
    assert Permission.objects.filter(content_type=content_type).count() == 4


def test_the_permissions_and_their_holders_move_with_the_content_type_and_back():
    apps = (
        MigrationLoader(connection)
        .project_state(("inbox", "0005_staff_profile_moved_to_staff"))
        .apps
    )
    content_type = ContentType.objects.get_for_model(StaffProfile)
    change = Permission.objects.get(content_type=content_type, codename="change_staffprofile")
    group = Group.objects.create(name="Profile editors")
    group.permissions.add(change)

    moved.to_inbox(apps, None)
    assert ContentType.objects.get(pk=content_type.pk).app_label == "inbox"
    # What post_migrate creates for the model's place in the code, when migrating back.
    ContentType.objects.create(app_label="staff", model="staffprofile")
    moved.to_staff(apps, None)

    assert ContentType.objects.get(app_label="staff", model="staffprofile").pk == content_type.pk
    assert list(group.permissions.all()) == [change]
