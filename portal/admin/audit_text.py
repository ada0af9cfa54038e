"""Audit events as sentences staff read (zh_CN and en), never raw keys.

:func:`sentence` turns one :class:`AuditEvent` (actor, action, entity, details) into a
translated sentence: "张伟 (zhang.wei) signed the listing decision of case JIA-2026-000179
(decided on 2026-10-09)". Every action the code records has its sentence in
:data:`SENTENCES` (tests/web/test_admin_audit_text.py reads the actions from the source,
so a new action without a sentence fails); an unknown action still reads as a sentence.
Detail values are put in words too: states, roles, letters, removal reasons.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from portal import labels
from portal.models import AuditEvent, StaffUser

SENTENCES = {
    # cases (the listing procedure)
    "case.open": _l("%(actor)s opened case %(entity)s on ground %(ground)s."),
    "case.pre_notice": _l("%(actor)s served the pre-notice of case %(entity)s (served on "
                          "%(served_on)s; defence window until %(defence_due_on)s)."),
    "case.defence": _l("%(actor)s recorded the statement and defence of case %(entity)s "
                       "(received on %(received_on)s)."),
    "case.review": _l("%(actor)s completed the review of case %(entity)s."),
    "case.propose": _l("%(actor)s proposed listing in case %(entity)s for approval."),
    "case.decide": _l("%(actor)s signed the listing decision of case %(entity)s (decided on "
                      "%(decided_on)s; on the list until %(term_last_day)s inclusive)."),
    "case.send_back": _l("%(actor)s sent the proposal of case %(entity)s back: %(reason)s"),
    "case.drop": _l("%(actor)s dropped case %(entity)s without listing: %(reason)s"),
    "case.publish": _l("%(actor)s published case %(entity)s on the portal (on "
                       "%(published_on)s)."),
    "case.share": _l("%(actor)s recorded the upload of case %(entity)s to the credit sharing "
                     "platform (on %(shared_on)s; due %(due)s)."),
    "case.share_removal": _l("%(actor)s recorded the upload of the removal of case %(entity)s "
                             "to the credit sharing platform (on %(shared_on)s)."),
    "case.remove": _l("%(actor)s removed the subject of case %(entity)s from the list "
                      "(%(reason)s, on %(removed_on)s)."),
    "case.correct": _l("%(actor)s corrected the published facts of case %(entity)s after "
                       "filing %(submission)s (on %(corrected_on)s)."),
    "case.assign": _l("%(actor)s assigned case %(entity)s to %(to)s (before: %(from)s)."),
    "case.reissue_code": _l("%(actor)s issued the %(letter)s of case %(entity)s again with a new "
                            "access code."),
    "complaint.case": _l("%(actor)s opened case %(case)s from complaint %(entity)s."),
    # letters
    "letter.issue": _l("%(actor)s issued letter %(letter_no)s (%(kind)s) of case %(entity)s, "
                       "dated %(issued_on)s."),
    "letter.render": _l("%(actor)s printed letter %(letter_no)s (%(kind)s) of case %(entity)s "
                        "as %(format)s%(full_ids)s."),
    "letter.code_refused": _l("%(actor)s gave an access code that is not the current code of "
                              "the %(kind)s of case %(entity)s: the letter was not printed."),
    # filings
    "submission.receive": _l("%(actor)s filed %(kind)s %(entity)s%(on_case)s."),
    "submission.received": _l("Filing %(entity)s was received again (by %(actor)s)."),
    "submission.under_review": _l("%(actor)s accepted filing %(entity)s for review."),
    "submission.awaiting_material": _l("%(actor)s asked for more material on filing "
                                       "%(entity)s."),
    "submission.granted": _l("%(actor)s granted filing %(entity)s."),
    "submission.rejected": _l("%(actor)s rejected filing %(entity)s."),
    "submission.withdrawn": _l("Filing %(entity)s was withdrawn (by %(actor)s)."),
    "submission.objection_marker": _l("%(actor)s marked the entry of case %(case)s as under "
                                      "objection (filing %(entity)s, on %(set_on)s)."),
    "submission.assign": _l("%(actor)s assigned filing %(entity)s to %(to)s (before: %(from)s)."),
    "submission.download": _l("%(actor)s downloaded evidence file no. %(attachment)s of filing "
                              "%(entity)s."),
    "submission.read_filer_identity": _l("%(actor)s read who filed complaint %(entity)s."),
    "submission.reissue_code": _l("%(actor)s gave filing %(entity)s a new query code."),
    "attachment.lost": _l("%(actor)s found evidence file no. %(attachment)s of filing "
                          "%(entity)s missing from storage."),
    # subjects
    "subject.create": _l("%(actor)s registered subject no. %(entity)s (%(kind)s)."),
    "subject.reveal_id": _l("%(actor)s viewed the full ID number of %(whose)s of subject no. "
                            "%(entity)s (case %(case)s)."),
    "subject.unit_kind": _l("%(actor)s set the kind of unit of subject no. %(entity)s to "
                            "%(unit_kind)s."),
    # publication, sharing, reports, imports
    "publication.withdraw": _l("%(actor)s withdrew %(entity)s from publication: its "
                               "publication period ended (last day %(last_day)s)."),
    "sharing.export": _l("%(actor)s exported %(count)s records for the credit sharing platform "
                         "(%(format)s)."),
    "report.export": _l("%(actor)s exported the report of %(entity)s with %(count)s rows "
                        "(%(format)s)."),
    "import.stage": _l("%(actor)s uploaded import batch %(entity)s: %(rows)s rows, %(errors)s "
                       "with errors."),
    "import.commit": _l("%(actor)s imported batch %(entity)s: %(cases)s cases opened."),
    "import.discard": _l("%(actor)s discarded import batch %(entity)s."),
    # credit grades and the red list
    "grade.finding": _l("%(actor)s recorded finding %(entity)s (grade %(grade)s) on subject no. "
                        "%(subject)s."),
    "grade.finding.live": _l("%(actor)s restored finding %(entity)s."),
    "grade.finding.withdrawn": _l("%(actor)s withdrew finding %(entity)s: %(reason)s"),
    "grade.finding.annulled": _l("%(actor)s recorded that finding %(entity)s was annulled: "
                                 "%(reason)s"),
    "grade.finding.case": _l("%(actor)s opened case %(case)s from finding %(entity)s."),
    "redlist.propose": _l("%(actor)s proposed subject no. %(subject)s for the red list "
                          "(proposal %(entity)s)."),
    "redlist.admit": _l("%(actor)s admitted red-list proposal %(entity)s (valid until "
                        "%(valid_until)s)."),
    "redlist.refuse": _l("%(actor)s refused red-list proposal %(entity)s: %(reason)s"),
    "redlist.remove": _l("%(actor)s removed red-list entry %(entity)s (on %(removed_on)s)."),
    "score_table.propose": _l("%(actor)s proposed score table %(entity)s (%(bands)s): %(note)s"),
    "score_table.approve": _l("%(actor)s put score table %(entity)s in force from %(in_force_from)s "
                              "(%(bands)s; it replaces %(replaces)s)."),
    "score_table.reject": _l("%(actor)s rejected score table %(entity)s: %(reason)s"),
    # the holiday calendar
    "calendar.set_day": _l("%(actor)s set %(entity)s as %(workday)s in the holiday calendar."),
    "calendar.delete_day": _l("%(actor)s deleted the calendar entry of %(entity)s."),
    "calendar.import": _l("%(actor)s imported the holiday schedule of %(entity)s."),
    "calendar.prefill": _l("%(actor)s prefilled the holiday schedule of %(entity)s with "
                           "%(added)s days."),
    "calendar.confirm": _l("%(actor)s confirmed the holiday schedule of %(entity)s."),
    "calendar.recompute": _l("%(actor)s recomputed the deadlines of %(entity)s with the new "
                             "holiday calendar."),
    # staff accounts and sign-in
    "staff.login": _l("%(actor)s signed in."),
    "staff.logout": _l("%(actor)s signed out."),
    "staff.login_failed": _l("A sign-in to account %(entity)s failed."),
    "staff.lockout": _l("Account %(entity)s was locked for %(minutes)s minutes after repeated "
                        "failed sign-ins."),
    "staff.totp_enrolled": _l("%(actor)s enrolled an authenticator app."),
    "staff.password_changed": _l("%(actor)s changed their password."),
    "staff.password_change_failed": _l("%(actor)s failed to change their password."),
    "staff.create": _l("%(actor)s created account %(entity)s (%(role)s)."),
    "staff.activate": _l("%(actor)s activated account %(entity)s."),
    "staff.deactivate": _l("%(actor)s deactivated account %(entity)s."),
    "staff.role": _l("%(actor)s changed the role of account %(entity)s from %(from)s to %(to)s."),
    "staff.reset_password": _l("%(actor)s reset the password of account %(entity)s."),
    "staff.reset_totp": _l("%(actor)s reset the authenticator of account %(entity)s."),
    "staff.unlock": _l("%(actor)s unlocked account %(entity)s."),
    "staff.jurisdictions": _l("%(actor)s changed the bureaus account %(entity)s works for."),
    "jurisdiction.create": _l("%(actor)s created bureau %(entity)s."),
    "jurisdiction.update": _l("%(actor)s changed bureau %(entity)s."),
    "jurisdiction.refused": _l("%(actor)s was refused access to %(entity)s of another bureau "
                               "(%(jurisdiction)s)."),
    # integration and the audit log itself
    "api_client.create": _l("%(actor)s created API client %(entity)s."),
    "api_client.revoke": _l("%(actor)s revoked API client %(entity)s."),
    "api.call": _l("API client %(entity)s called %(endpoint)s (status %(status)s)."),
    "api.auth_failed": _l("A call with an invalid token for API client %(entity)s was refused."),
    "webhook.create": _l("%(actor)s registered webhook no. %(entity)s to %(host)s."),
    "webhook.deactivate": _l("%(actor)s removed webhook no. %(entity)s (%(host)s)."),
    "webhook.replay": _l("%(actor)s asked webhook no. %(entity)s to receive the events after "
                         "position %(from_position)s again."),
    "webhook.deliver_again": _l("%(actor)s had event %(event_id)s delivered again (delivery "
                                "no. %(entity)s; %(attempts)s attempts had failed, the last "
                                "with %(last_error)s)."),
    "mail.send_again": _l("%(actor)s had the e-mail of filing %(receipt_no)s (%(event)s) sent "
                          "again (e-mail no. %(entity)s; %(attempts)s attempts had failed, the "
                          "last with %(last_error)s)."),
    # organisations' accounts (/watch)
    "subscriber.close": _l("%(actor)s closed the account of organisation no. %(entity)s "
                           "(%(sessions)s signed-in sessions ended): %(reason)s"),
    "subscriber.reopen": _l("%(actor)s reopened the account of organisation no. %(entity)s: "
                            "%(reason)s"),
    "audit.verify": _l("%(actor)s verified the audit chain: %(problems)s problems found."),
    "demo.bulk_seed": _l("%(actor)s generated demo cases %(entity)s."),
}
GENERIC = _l("%(actor)s recorded an action (%(action)s) concerning %(entity)s.")

ACTORS = {"system": _l("The system"), "public": _l("A member of the public"),
          "party": _l("The listed party")}
WHOSE = {"subject": _l("the subject"), "legal_representative": _l("the legal representative"),
         "responsible": _l("a responsible person")}
LETTERS = {"pre_notice": _l("pre-notice"), "listing_decision": _l("listing decision"),
           "removal_decision": _l("removal decision"), "repair_certificate": _l("repair certificate")}
ENTITIES = {"case": _l("case %(id)s"), "submission": _l("filing %(id)s"),
            "subject": _l("subject no. %(id)s"), "staff": _l("account %(id)s"),
            "entry": _l("published entry %(id)s"), "removal": _l("removal notice %(id)s"),
            "red_list_entry": _l("red-list entry %(id)s"), "score_table": _l("score table %(id)s"),
            "jurisdiction": _l("bureau %(id)s"), "outgoing_mail": _l("e-mail no. %(id)s"),
            "subscriber": _l("organisation account no. %(id)s")}


class _Values(dict):
    """Placeholders the event does not carry read as a dash, never as a key."""

    def __missing__(self, key):
        return "—"


def actor_name(label: str, names: dict[str, str] | None = None) -> str:
    """"staff:li.na" → "李娜 (li.na)"; "system" → "The system"; "api:x" → "API client x"."""
    kind, _sep, who = (label or "").partition(":")
    if kind == "staff" and who:
        shown = (names or {}).get(who)
        return f"{shown} ({who})" if shown and shown != who else who
    if kind == "api" and who:
        return _("API client %(name)s", name=who)
    return str(ACTORS.get(label, label or "—"))


def _value(key: str, value, event: AuditEvent):
    """One detail value in words."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(str(_value(key, v, event)) for v in value)
    text = str(value)
    if key in ("from", "to"):
        if event.action.startswith("case.") and text in labels.CASE_STATES:
            return labels.label(labels.CASE_STATES, text)
        if event.action.startswith("submission.") and text in labels.SUBMISSION_STATES:
            return labels.label(labels.SUBMISSION_STATES, text)
        if event.action == "staff.role":
            return labels.label(labels.ROLES, text)
    if key == "role":
        return labels.label(labels.ROLES, text)
    if key == "reason" and text in labels.REMOVAL_REASONS:
        return labels.label(labels.REMOVAL_REASONS, text)
    if key in ("kind", "letter") and text in LETTERS:
        return str(LETTERS[text])
    if key == "kind" and event.action.startswith("submission.") and text in labels.SUBMISSION_KINDS:
        return labels.label(labels.SUBMISSION_KINDS, text)
    if key == "kind" and text in labels.SUBJECT_KINDS:
        return labels.label(labels.SUBJECT_KINDS, text)
    if key == "event" and event.action.startswith("mail."):
        return labels.label(labels.MAIL_EVENTS, text)
    if key == "unit_kind":
        return labels.label(labels.UNIT_KINDS, text)
    if key == "replaces" and text == "provisional":
        return _("the provisional table of the rules")
    if key == "whose":
        return str(WHOSE.get(text, text))
    return text


def entity_phrase(event: AuditEvent) -> str:
    template = ENTITIES.get(event.entity_type)
    if template is None:
        return str(event.entity_id)
    return str(template) % {"id": event.entity_id}


def values(event: AuditEvent, names: dict[str, str] | None = None) -> _Values:
    data = event.data if isinstance(event.data, dict) else {}
    found = _Values({str(k): _value(str(k), v, event) for k, v in data.items()})
    found["actor"] = actor_name(event.actor_label, names)
    found["entity"] = event.entity_id
    found["action"] = event.action
    if event.action == "submission.receive":
        case = data.get("case")
        found["on_case"] = _(" on case %(case)s", case=case) if case else ""
    if event.action == "letter.render":
        found["full_ids"] = _(", with full ID numbers") if data.get("full_ids") else ""
    if event.action == "calendar.set_day":
        found["workday"] = _("a working day") if data.get("is_workday") else _("a day off")
    if event.action in ("case.assign", "submission.assign"):
        for key in ("from", "to"):
            found[key] = (names or {}).get(data.get(key), data.get(key)) or _("nobody")
    return found


#: A filing back under review because the party answered a request for material: the party
#: did not "accept" anything.
BACK_UNDER_REVIEW = _l("Filing %(entity)s is under review again: %(actor)s answered the request "
                       "for more material.")


def sentence(event: AuditEvent, names: dict[str, str] | None = None) -> str:
    """The event as one sentence in the request's language (plain text)."""
    template = SENTENCES.get(event.action)
    data = event.data if isinstance(event.data, dict) else {}
    if event.action == "submission.under_review" and data.get("from") == "awaiting_material":
        template = BACK_UNDER_REVIEW
    found = values(event, names)
    if template is None:
        found["entity"] = entity_phrase(event)
        return str(GENERIC) % found
    return str(template) % found


def sentence_html(event: AuditEvent, names: dict[str, str] | None = None) -> Markup:
    """The sentence, escaped (details are free text typed by staff and parties)."""
    return Markup(escape(sentence(event, names)))


def staff_names(session: Session, events) -> dict[str, str]:
    """Display names of the staff the events name (actors, assignees), by user name."""
    wanted = set()
    for event in events:
        kind, _sep, who = (event.actor_label or "").partition(":")
        if kind == "staff" and who:
            wanted.add(who)
        if event.action in ("case.assign", "submission.assign") and isinstance(event.data, dict):
            wanted.update(v for v in (event.data.get("from"), event.data.get("to")) if v)
    if not wanted:
        return {}
    return dict(session.execute(sa.select(StaffUser.username, StaffUser.display_name)
                                .where(StaffUser.username.in_(sorted(wanted)))).all())


def described(session: Session, events) -> list[tuple[AuditEvent, Markup]]:
    """Each event with its sentence (one query for the names of the staff they name)."""
    events = list(events)
    names = staff_names(session, events)
    return [(event, sentence_html(event, names)) for event in events]
