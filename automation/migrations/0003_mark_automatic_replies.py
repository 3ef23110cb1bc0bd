"""Automatic replies sent before they were marked in their data (Message.data["automation"],
automation.engine.AUTOMATIC_REPLY): mark them from their claims, so the timeline keeps
showing them as sent by Automation."""

from django.db import migrations


def mark_automatic_replies(apps, schema_editor):
    AutoReplyClaim = apps.get_model("automation", "AutoReplyClaim")
    Message = apps.get_model("messaging", "Message")
    claims = AutoReplyClaim.objects.filter(reply__isnull=False).select_related("reply")
    for claim in claims.iterator(chunk_size=500):
        data = claim.reply.data if isinstance(claim.reply.data, dict) else {}
        if "automation" not in data:
            Message.objects.filter(pk=claim.reply_id).update(
                data={**data, "automation": claim.kind}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0002_system_notes_for_what_rules_could_not_do"),
    ]

    operations = [migrations.RunPython(mark_automatic_replies, migrations.RunPython.noop)]
