"""Jurisdiction profiles: the law of one city (or the national default) as data.

Each ``<code>.toml`` file beside this module is one profile.  This module
parses and validates it into frozen dataclasses; nothing else in the portal
reads the TOML.  Every value that comes from the law carries a ``source``
string naming where it comes from: a seed file and article (``"000 art. 10"``,
``"001 §二(二)4(1)"``), the national overlay (``"national: ..."``), a statute
(``"law: ..."``), the SPEC default (``"SPEC §4.2 ..."``) or a bureau setting
(``"bureau setting ..."``).  Loading fails with :class:`ProfileError` naming
the file and key on anything malformed: unknown keys, bad units, missing
sources, missing deadlines, or an internal note (seed or SPEC reference,
"§", "¶", "art." shorthand …, see :mod:`portal.rules.public_text`) in a field the
public or the parties read (``loader.public_texts``).  ``source`` is for
staff only; pages show it through :func:`citations.cite` as a citation in
words.

Fields beyond the agreed API (documented here, all optional in the TOML):

* ``Profile.removal_channels`` – where removals are published (Jiamusi art. 14 …).
* ``Profile.sharing_platforms`` – credit-sharing platforms the list is uploaded to.
* ``Profile.sources`` – sources of profile-level settings (validity, channels,
  publish_individuals, red list, score grades, …), keyed by setting name.
* ``Profile.interpretations`` – places where the profile had to interpret
  its seed (for the README and the admin profile page).
* ``Profile.scope`` – the insurance schemes the document covers, if it says.
* ``Measure.severities`` – severities a measure applies to (empty = all).
* ``Measure.subject_kinds`` – the kinds of listed subject a measure applies to
  (required: Fuzhou's enterprise-only measures are not shown for persons).
* ``Ground.threshold`` – ``[grounds.threshold]``: the figures a ground requires
  (``<figure>_over`` / ``<figure>_at_least`` for amount, months, person_times;
  ``combine`` any/all; ``clause``; optional ``alternative``; ``source``), checked
  by :mod:`portal.rules.thresholds`.
* ``Behaviour.units`` – the kinds of unit (``UNIT_KINDS``) or ``person`` a
  catalogue behaviour applies to; ``Behaviour.subject`` is derived from it.
* ``Behaviour.threshold`` – as ``Ground.threshold``, for findings (Zhengzhou's
  arrears graded by years; ``<figure>_at_most`` for 以下/以内).
* ``RepairRule.opens_after_rectification_window`` – Jiamusi art. 12: repair is
  for subjects who did not rectify in time, so for a rectifiable first
  listing it opens when the rectification window has closed.
* ``RepairRule.stops_publication`` – Order 36: after repair the entry itself
  is no longer published (not merely moved to the removals list).
* ``Profile.removal_notice_period`` – ``[publication] removal_notice_period``: how long
  a removal notice (and an entry kept with it) stays published after the removal;
  then it stops being published (Order 36) and the feeds emit a deletion.
* ``RepairRule.free`` – repair costs nothing.
* ``RepairRule.certificate`` – a written repair certificate is issued
  (Shanghai art. 10).
* ``RepairRule.conditions`` – what the applicant must show.
* ``Profile.score`` – ``[score]``: the credit score model (Zhengzhou §三 ¶1): a base,
  points per behaviour grade with per-code overrides, per red-list criterion and per complaint
  outcome, how findings fade (``decay``), and a provisional score → grade table
  (``[score.provisional_table]``) used until the bureau puts its own in force (four-eyes, in
  the back office). No seed gives numbers: every value is a bureau setting. Profiles without
  ``[score]`` have no score (None). See :class:`ScoreModel` and ``portal.rules.credit_score``.
* ``ReportRule.recipient`` / ``forward_due`` / ``forward_day_of_month`` /
  ``forward_recipient`` – second reporting step (Chizhou county office
  forwards within 3 days; Zhengzhou legal office → city bureau by the 30th).
* ``ReportRule.fields_source`` – the citation of the report fields where a profile
  that prescribes none borrows them (``REPORT_FIELDS_PROFILE``: Shanghai art. 7).
"""
from portal.rules.profiles.loader import (
    PROFILE_DIR,
    available_profiles,
    load_profile,
    parse_profile,
)
from portal.rules.profiles.model import *  # noqa: F401,F403
from portal.rules.profiles.model import __all__ as _model_all
from portal.rules.profiles.scoring import (
    MAX_BANDS,
    MIN_BANDS,
    SCORE_LIMIT,
    band_problem,
    sorted_bands,
)

__all__ = [*_model_all, "PROFILE_DIR", "parse_profile", "load_profile", "available_profiles",
           "band_problem", "sorted_bands", "MIN_BANDS", "MAX_BANDS", "SCORE_LIMIT"]
