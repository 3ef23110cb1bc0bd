import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from automation.demo import seed_teamwork
from messaging.demo import seed_conversations


class Command(BaseCommand):
    help = (
        "Load demo data for local use: a staff account to sign in with, and a few "
        "conversations delivered through the real webhook ingestion. Safe to run again: "
        "existing demo data is updated, not duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_PASSWORD") or None,
            help="Password for the demo account (default: $DEMO_PASSWORD, else a random one).",
        )
        parser.add_argument(
            "--address",
            default="127.0.0.1:8000",
            help="Where the inbox is served, for the sign-in line (make run: RUN_ADDRESS).",
        )

    @transaction.atomic
    def handle(self, *args, username, password, address, **options):
        # Random unless given: a demo account that reaches a shared database by mistake must
        # not come with a guessable password.
        password = password or secrets.token_urlsafe(12)
        user, created = get_user_model().objects.update_or_create(
            username=username,
            # A superuser, so the demo shows every part of the inbox and the admin.
            defaults={
                "is_staff": True,
                "is_superuser": True,
                "is_active": True,
                "first_name": "Demo",
            },
        )
        # Re-hashing an unchanged password would sign out everyone using the account.
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        delivered = seed_conversations(agent=user)
        seed_teamwork(agent=user)  # labels, quick replies, business hours, a routing rule
        if delivered:
            self.stdout.write(f"Delivered {delivered} demo webhook bodies.")
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} demo staff account."))
        self.stdout.write(f"  Sign in at http://{address}/ as {username} / {password}")
