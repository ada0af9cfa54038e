"""Translated labels for states, reasons and kinds (DESIGN §8).

Evaluated lazily (``_l``) so the active request's language decides.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# The two dates of a term, in the same words on every surface (pages, exports, feeds, letters):
# the last day on the list, and the day the subject leaves it (the next day).
TERM_LAST_DAY = _l("Listed until (inclusive)")
LEAVES_LIST_ON = _l("Leaves the list on")

SUBJECT_KINDS = {
    "organisation": _l("Organisation"),
    "person": _l("Individual"),
}

#: The kind of an organisation for the behaviour catalogue (Zhengzhou §四).
UNIT_KINDS = {
    "employer": _l("Employer (any other unit)"),
    "medical_institution": _l("Agreement medical institution"),
    "pharmacy": _l("Agreement retail pharmacy"),
}

SEVERITIES = {
    "light": _l("Minor"),
    "general": _l("General"),
    "heavy": _l("Serious (grade 2)"),
    "serious": _l("Severe"),
}

REMOVAL_REASONS = {
    "term_expired": _l("Term expired"),
    "rectified": _l("Rectified in time"),
    "credit_repaired": _l("Credit repaired"),
    "objection_upheld": _l("Objection upheld: the listing was withdrawn"),
    "revoked": _l("Listing decision revoked by reconsideration or court"),
}

#: What a watchlist is told of a watched subject (``portal.services.watch_alerts.EVENTS``).
WATCH_EVENTS = {
    "listed": _l("Listed"),
    "corrected": _l("Listing corrected"),
    "under_objection": _l("Objection under review"),
    "objection_closed": _l("Objection decided"),
    "removed": _l("Removed from the list"),
}

#: The letters to the party by their title (``LetterKind`` values): the letter's own heading,
#: and the kind the public letter verification names.
LETTER_TITLES = {
    "pre_notice": _l("Prior Notice of Inclusion in the Social Insurance Serious Dishonesty List"),
    "listing_decision": _l("Decision on Inclusion in the Social Insurance Serious Dishonesty List"),
    "removal_decision": _l("Decision on Removal from the Social Insurance Serious Dishonesty List"),
    "repair_certificate": _l("Credit Repair Certificate"),
}

#: Why a public record is no longer published (tombstones in the API, exports and feeds).
WITHDRAWAL_REASONS = {
    "credit_repaired": _l("Credit repaired: no longer published"),
    "objection_upheld": _l("Objection upheld: the listing was withdrawn"),
    "revoked": _l("Listing decision revoked by reconsideration or court"),
    "period_ended": _l("Publication period ended"),
}

CASE_STATES = {
    "opened": _l("Opened"),
    "pre_noticed": _l("Pre-notice served"),
    "defence_filed": _l("Defence received"),
    "reviewed": _l("Reviewed"),
    "proposed": _l("Listing proposed"),
    "decided": _l("Listing decided"),
    "published": _l("Published"),
    "removed": _l("Removed"),
    "dropped": _l("Dropped"),
}

SUBMISSION_KINDS = {
    "defence": _l("Statement and defence"),
    "objection": _l("Objection"),
    "rectification": _l("Rectification evidence"),
    "credit_repair": _l("Credit repair application"),
    "complaint": _l("Complaint or report"),
}

SUBMISSION_STATES = {
    "received": _l("Received"),
    "under_review": _l("Under review"),
    "awaiting_material": _l("More material requested"),
    "granted": _l("Granted"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}

#: The messages a filer may be e-mailed (``OutgoingMail.event``), and their delivery states.
MAIL_EVENTS = {
    "received": _l("Receipt of the filing"),
    "material_requested": _l("Request for more material"),
    "decided": _l("Decision on the filing"),
}

MAIL_STATES = {
    "pending": _l("Waiting to be sent"),
    "sent": _l("Sent"),
    "failed": _l("Not sent"),
}


ROLES = {
    "clerk": _l("Clerk"),
    "reviewer": _l("Reviewer"),
    "approver": _l("Approver"),
    "admin": _l("Administrator"),
}

CASE_ORIGINS = {
    "inspection": _l("Labour inspection or audit check"),
    "audit": _l("Special audit"),
    "report": _l("Complaint or report"),
    "commitment": _l("Broken credit commitment"),
    "import": _l("Periodic report import"),
    "integration": _l("Business system"),
}

#: Submission.category of objections ("amount" appears in demo data).
OBJECTION_GROUNDS = {
    "identity": _l("Wrong party: not the unit or person named"),
    "facts": _l("Wrong facts"),
    "amount": _l("Wrong amount"),
    "term": _l("The term is over"),
    "not_listable": _l("Should never have been listed"),
    "other": _l("Other"),
}

#: Submission.category of complaints and reports.
COMPLAINT_CATEGORIES = {
    "fraud": _l("Fraud to obtain benefits or fund payments"),
    "unregistered": _l("Employer does not insure its staff"),
    "arrears": _l("Contributions not paid"),
    "service_institution": _l("Hospital, pharmacy or other service institution breaking its agreement"),
    "other": _l("Other"),
}


def label(table: dict, key: str | None) -> str:
    """A translated label, or the key itself for an unknown value."""
    if key is None:
        return ""
    return str(table.get(getattr(key, "value", key), key))
