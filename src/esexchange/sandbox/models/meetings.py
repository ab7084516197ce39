"""Meeting messages: the sandbox delivers nothing but records what it would have sent."""

from __future__ import annotations

from dataclasses import dataclass

# Send... values that send meeting messages (the rest: SendToNone).
SENDING = frozenset({"SendOnlyToAll", "SendToAllAndSaveCopy", "SendOnlyToChanged",
                     "SendToChangedAndSaveCopy"})  # fmt: skip
# The item a saved copy of a meeting message is: (item kind, ItemClass).
MEETING_MESSAGES = {
    "invitation": ("MeetingRequest", "IPM.Schedule.Meeting.Request"),
    "update": ("MeetingRequest", "IPM.Schedule.Meeting.Request"),
    "cancellation": ("MeetingCancellation", "IPM.Schedule.Meeting.Canceled"),
}


@dataclass(frozen=True)
class SentMessage:
    """A meeting message the sandbox would have sent; recorded so tests can assert on it."""

    kind: str  # "invitation", "update", "cancellation" or "message"
    item_id: str
    subject: str
    recipients: tuple[str, ...]
