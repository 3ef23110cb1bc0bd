"""What `messaging` tells the apps built on it. It never imports them: they connect here.

Receivers connect in their `AppConfig.ready()`. Each signal says when it is sent, because that
decides what a receiver may do:

- sent **after commit**: the rows exist for every process; a receiver may enqueue tasks or
  talk to the outside world, and its failure cannot undo the change (receivers are called
  with `send_robust`, so one failing receiver neither stops the others nor the caller);
- sent **inside the transaction** that makes the change: a receiver's writes commit or roll
  back with it (an audit row that must exist exactly when the reply does); anything that
  leaves the process belongs in `transaction.on_commit`.

`sender` is always the module-level function or class that sent it, for filtering.
"""

from django.dispatch import Signal

# After commit. New inbound messages of one webhook body (never redeliveries: a wamid is
# announced once). Arguments: message_ids (list of Message pks, in arrival order).
messages_received = Signal()

# Inside the transaction. Staff queued a reply (text, template, media or reaction): the
# pending Message row exists; the sending task runs after commit. Arguments: message,
# conversation, user.
reply_queued = Signal()

# Inside the transaction. Staff sent a failed or unconfirmed message again. Arguments:
# message (as it was before the retry), user.
send_retried = Signal()

# Inside the transaction, before `other` is deleted. One person's two records are being
# merged (a phone number and a BSUID paired): every row about conversation `other` must move
# to `keep` or go. Rows with a plain foreign key move by themselves; a receiver moves what
# cannot (one-per-conversation rows). Arguments: keep, other (Conversation instances).
conversations_merging = Signal()

# Inside the request's transaction (if any). A staff member looked at personal data in the
# admin: one object (obj is a model instance) or a search of a model's rows (obj is a tuple
# (model label, None)). Never the search terms. Arguments: user, obj, via ("admin" or
# "admin search").
personal_data_viewed = Signal()
