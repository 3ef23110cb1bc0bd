"""WhatsApp message templates: mirrored from Meta, filled in by staff, sendable outside the
24-hour window (not Django templates: those are in templates/).

- `sync.sync_templates()` mirrors `GET /{waba-id}/message_templates` into MessageTemplate
  rows, and `webhooks.apply_template_update()` keeps them current from template webhooks
  between syncs.
- `reading.required_parameters()` reads what a template needs from its components (Meta's
  format); `filling.validate()` checks staff's values against Meta's rules before anything
  is queued, so a parameter count (132000) or format (132012, 132018) error never comes back
  from Meta.
- `filling.render_preview()` is what the customer will read; `filling.template_payload()` is
  the `template` object of the Cloud API request; `outbox.queue_template_message()` puts one
  in the outbox.

Supported: TEXT headers, IMAGE, VIDEO and DOCUMENT headers (staff give an https link to the
file, which Meta fetches: "Send Message Template Media" in Meta's examples), body and footer,
and buttons of type QUICK_REPLY, URL (a variable URL suffix), PHONE_NUMBER and COPY_CODE.
Templates that need anything else (a location header, carousels, flows, catalogues, one-time
passwords) are listed but cannot be sent from the inbox: `unsupported_reason()` says why.

Values are keyed by `Parameter.field`: "header-1", "body-2", "body-first_name", "button0-1"
(the variable of the first button), "header-media" (the link of a media header).
"""
