import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from privacy.erasure import erase_contact, find_person, kind_rows, preview_erasure, split_identifier
from privacy.models import DeletionRequest


class Command(BaseCommand):
    help = (
        "Erase everything held about one person, by phone number or business-scoped user id "
        "(BSUID), leaving only keyed-hash tombstones; records a completed deletion request. "
        "Shows what will be deleted and asks first, unless --no-input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "identifier", help='Phone number (any format, e.g. "+966 50 123 4567") or BSUID.'
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )
        parser.add_argument(
            "--channel",
            choices=DeletionRequest.Channel.values,
            default=DeletionRequest.Channel.EMAIL,
            help="How the person asked (recorded on the deletion request; default: email).",
        )
        parser.add_argument(
            "--handled-by",
            metavar="USERNAME",
            help=(
                "The staff account recorded as having handled the request (default: the "
                'operating-system user, recorded as "NAME (command line)").'
            ),
        )

    def handle(
        self,
        *args: Any,
        identifier: str,
        interactive: bool,
        channel: str,
        handled_by: str | None,
        **options: Any,
    ) -> None:
        phone, user_id = split_identifier(identifier)
        if not (phone or user_id):
            raise CommandError("Give a phone number or a business-scoped user id.")
        actor, actor_name = None, command_line_actor()
        if handled_by:
            actor = get_user_model().objects.filter(username=handled_by).first()
            if actor is None:
                raise CommandError(f"No user named {handled_by!r}.")
            actor_name = ""

        contacts, _ids = find_person(phone=phone, user_id=user_id)
        counts = preview_erasure(phone=phone, user_id=user_id)
        # Counts only: no names or numbers in the output, which may end up in logs.
        if contacts:
            self.stdout.write(f"Found {len(contacts)} contact record(s). This will delete:")
        else:
            self.stdout.write("No contact record has this id. Nothing is stored under it, but:")
        self._write_counts(counts)
        if interactive:
            answer = input("Erase this data permanently? Type 'yes' to continue: ")
            if answer.strip().lower() != "yes":
                self.stdout.write("Erasure cancelled: nothing was changed.")
                return

        with transaction.atomic():
            request = DeletionRequest.objects.create(
                phone=phone,
                user_id=user_id,
                contact=contacts[0] if contacts else None,
                channel=channel,
                received_at=timezone.now(),
                status=DeletionRequest.Status.IN_PROGRESS,
                notes="Recorded by manage.py erase_contact.",
            )
            counts = erase_contact(
                phone=phone,
                user_id=user_id,
                deletion_request=request,
                actor=actor,
                actor_name=actor_name,
            )
        self.stdout.write("Erased:")
        self._write_counts(counts)
        self.stdout.write(
            self.style.SUCCESS(
                f"Deletion request #{request.pk} completed; a keyed-hash tombstone remains."
            )
        )

    def _write_counts(self, counts: dict[str, int]) -> None:
        for label, count in kind_rows(counts):
            self.stdout.write(f"  {label}: {count}")


def command_line_actor() -> str:
    """Who ran the command, as the audit log and the request record it without an account."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = ""
    return f"{user} (command line)" if user else "command line"
