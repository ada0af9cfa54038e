"""The 补正 exchanges of a filing as staff read them, and which files came with which reply.

``submission.details["material_requests"]`` keeps each request (its note, day, reply due
date) and, once answered, the party's reply (text, day, the ids of the files that came with
it: ``services.submissions.reply_material``). Replies recorded before the files were named
there are matched by time: a file uploaded after a request was made came with its reply.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from portal.models import Attachment, Submission
from portal.rules.workflow import SubmissionState


@dataclass
class Exchange:
    number: int
    requested_on: dt.date | None
    note: str
    reply_due: dt.date | None
    reply_due_provisional: bool
    pauses_clock: bool
    replied_on: dt.date | None
    reply: str | None
    paused_working_days: int | None
    files: list[Attachment] = field(default_factory=list)


def day(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _aware(at: dt.datetime | None) -> dt.datetime | None:
    if at is not None and at.tzinfo is None:      # SQLite hands back naive UTC
        return at.replace(tzinfo=dt.timezone.utc)
    return at


def exchanges(submission: Submission) -> tuple[list[Exchange], dict[int, int]]:
    """The exchanges in order, and attachment id -> the number of the reply it came with
    (files not in the map were filed with the filing)."""
    asked = [r for r in (submission.details or {}).get("material_requests") or []
             if isinstance(r, dict)]
    found = [Exchange(i, day(r.get("requested_on")), str(r.get("note") or ""),
                      day(r.get("reply_due")), bool(r.get("reply_due_provisional")),
                      bool(r.get("pauses_clock")), day(r.get("replied_on")),
                      r.get("reply"), r.get("paused_working_days"))
             for i, r in enumerate(asked, start=1)]
    came_with: dict[int, int] = {}
    for number, request in enumerate(asked, start=1):
        for attachment_id in request.get("files") or []:
            if isinstance(attachment_id, int):
                came_with[attachment_id] = number
    # replies recorded before their files were named: by the time of each request
    requested_at = [_aware(e.at) for e in submission.events
                    if e.state is SubmissionState.AWAITING_MATERIAL]
    for attachment in submission.attachments:
        if attachment.id in came_with or not requested_at:
            continue
        at = _aware(attachment.created_at)
        earlier = [n for n, when in enumerate(requested_at, start=1)
                   if at is not None and when is not None and when < at]
        if earlier and earlier[-1] <= len(found) and "files" not in asked[earlier[-1] - 1]:
            came_with[attachment.id] = earlier[-1]
    by_number = {e.number: e for e in found}
    for attachment in submission.attachments:
        number = came_with.get(attachment.id)
        if number in by_number:
            by_number[number].files.append(attachment)
    return found, came_with
