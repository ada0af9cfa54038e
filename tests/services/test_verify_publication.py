"""``flask --app wsgi verify publication`` on the demo city of every profile.

It passes on the demo data, fails (exit 1, naming the entry and the date) when a
published date was changed behind the rules' back, and passes again after a
calendar confirmation that moved published dates (the recomputation kept the
projection consistent).
"""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import PublishedEntry, Role
from portal.rules.profiles import available_profiles, load_profile
from portal.services import holidays
from tests.factories import make_staff
from tests.services.test_demo import seeded


def _verify(app, *options):
    return app.test_cli_runner().invoke(args=["verify", "publication", *options])


def _confirm_2027_with_spring_festival_off(session, profile_code: str) -> list:
    admin = make_staff(session, Role.ADMIN)
    off = {dt.date(2027, 2, 9), dt.date(2027, 2, 10), dt.date(2027, 2, 11)}
    for day in sorted(set(holidays.missing_statutory(session, 2027)) | off):
        holidays.set_day(session, admin, holidays.DayRow(day, False, "春节" if day in off else ""))
    return holidays.confirm_year(session, admin, 2027, load_profile, load_profile(profile_code))


def test_verify_passes_on_the_demo_fails_on_tampering_and_passes_after_a_confirmation(tmp_path):
    app, _report = seeded(tmp_path)
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "publication consistent" in result.output

    with app.app_context():
        entry = db.session.execute(
            sa.select(PublishedEntry).where(PublishedEntry.rectification_closes_on.is_not(None))
            .order_by(PublishedEntry.id).limit(1)).scalar_one()
        entry_id, pid, right = entry.id, entry.public_id, entry.rectification_closes_on
        entry.rectification_closes_on = right + dt.timedelta(days=1)
        other = db.session.execute(sa.select(PublishedEntry).where(PublishedEntry.id != entry.id)
                                   .order_by(PublishedEntry.id).limit(1)).scalar_one()
        other_id, other_pid, other_last = other.id, other.public_id, other.term_last_day
        other.term_last_day = other_last + dt.timedelta(days=1)
        db.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert f"entry {pid}: rectification_closes_on is {right + dt.timedelta(days=1)}, " \
           f"expected {right}" in result.output
    assert f"entry {other_pid}: term_last_day" in result.output
    assert "2 date(s)" in result.output

    fixed = _verify(app, "--fix")                      # rewritten as a calendar change would
    assert fixed.exit_code == 0, fixed.output
    assert "fixed 2 published date(s) and flag(s)" in fixed.output and "publication consistent" in fixed.output
    with app.app_context():
        assert db.session.get(PublishedEntry, entry_id).rectification_closes_on == right
        assert db.session.get(PublishedEntry, other_id).term_last_day == other_last
        changes = _confirm_2027_with_spring_festival_off(db.session, "jiamusi")
        db.session.commit()
        moved = [c for c in changes if c.entity_type == "entry"]
        assert any(c.field == "rectification_closes_on" for c in moved), changes
    result = _verify(app)
    assert result.exit_code == 0, result.output


@pytest.mark.slow
@pytest.mark.parametrize("profile", [p for p in available_profiles() if p != "jiamusi"])
def test_verify_passes_on_the_demo_of_every_profile(profile, tmp_path):
    app, _report = seeded(tmp_path, profile)
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "publication consistent" in result.output
