"""StaffProfile moves here from the inbox app, its tables staying as they are.

Only Django's picture of the models changes: the table (inbox_staffprofile, and
inbox_staffprofile_numbers for the numbers) was created by the inbox app's migrations, which
run first, and inbox's 0005 drops the model from its own state.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("inbox", "0004_role_permissions"),
        ("messaging", "0004_message_content_redacted_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StaffProfile",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "language",
                            models.CharField(
                                blank=True,
                                choices=[("en", "English"), ("ar", "العربية")],
                                max_length=10,
                                verbose_name="language",
                            ),
                        ),
                        (
                            "numbers",
                            models.ManyToManyField(
                                blank=True,
                                help_text="Leave empty to allow every number.",
                                related_name="+",
                                to="messaging.businessnumber",
                                verbose_name="business numbers this person may see",
                            ),
                        ),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="staff_profile",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "staff profile",
                        "verbose_name_plural": "staff profiles",
                        "db_table": "inbox_staffprofile",
                    },
                ),
            ],
        ),
    ]
