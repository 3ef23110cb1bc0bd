"""The standing of the WhatsApp Business Account, its numbers and its templates, as Meta
reports it by webhook: bans, restrictions and reviews of the account (account_update,
account_review_update), a number's quality and messaging limit (phone_number_quality_update),
and templates flagged, paused or moved to another category (message_template_status_update,
template_category_update).

Each change is stored once (`AccountEvent`, unique on its fingerprint, so a redelivery adds
nothing); what is in force is the latest event about each thing, while it lasts
(`AccountEvent.objects.active()`); administrators are e-mailed once per event that raises or
lifts a problem.

The package, by job: `models` the event rows; `rules` what an event means (pure);
`record` stores events from the ingest pipeline; `wording` says them in the reader's
language; `mail` e-mails them from a task.
"""
