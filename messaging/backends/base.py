from dataclasses import dataclass


@dataclass(frozen=True)
class SendResult:
    """Meta accepted the request (which is not delivery: statuses arrive by webhook)."""

    wamid: str


class SendError(Exception):
    """The Graph API refused or could not be reached.

    `retryable`: the same request may succeed later (rate limits, transient errors, network).
    `ambiguous`: we cannot know whether Meta accepted it (a read timeout): never resend blindly.
    `stop_sending`: sending from this number cannot work until staff fix something (code 190).
    """

    def __init__(
        self,
        title,
        *,
        code=None,
        subcode=None,
        details="",
        retryable=False,
        ambiguous=False,
        stop_sending=False,
        fbtrace_id="",
    ):
        super().__init__(title)
        self.title = title
        self.code = code
        self.subcode = subcode
        self.details = details
        self.retryable = retryable
        self.ambiguous = ambiguous
        self.stop_sending = stop_sending
        self.fbtrace_id = fbtrace_id

    @property
    def permanent(self):
        return not (self.retryable or self.ambiguous)


class BaseBackend:
    def send(self, phone_number_id: str, payload: dict) -> SendResult:
        """POST `payload` to /{phone_number_id}/messages; raise SendError on failure."""
        raise NotImplementedError
