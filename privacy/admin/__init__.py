"""Admin for privacy: the audit log (read-only), deletion requests (erase, reject, export), and
the export of a contact's data from messaging's contact list. Each lives in its own module;
importing them here registers them when Django's admin autodiscovers this package."""

from privacy.admin import audit_log, contacts, deletion_requests

__all__ = ["audit_log", "contacts", "deletion_requests"]
