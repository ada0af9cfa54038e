"""How long until an entry published by staff is found by /search (target: within 2 s).

Run beside a running portal (``make run`` in the same checkout, same instance/):

    .venv/bin/python bench/publish_to_search.py --rounds 5 [--port 8000]

Each round publishes a new case through the services (open → pre-notice →
review → propose → approve → publish, by two different staff users), commits,
then polls ``/search?q=<name>`` on 127.0.0.1 every 50 ms until the entry
appears. The worker drains the outbox into the index; gunicorn's searchers
pick the new segment up on their next refresh.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import secrets
import statistics
import time
import urllib.parse
import urllib.request

from portal import clock, create_app
from portal.extensions import db
from portal.models import Role, StaffJurisdiction, StaffUser, Subject, SubjectKind
from portal.rules import identifiers
from portal.rules.profiles import load_profile
from portal.security import hash_password
from portal.services import cases, jurisdictions
from portal.services.calendar import load_calendar

SYLLABLES = "鑫泰恒瑞隆昌盛宏远兴达华信诚安康永嘉祥和通"
# A result row links to its entry; the query itself is echoed in the search box, so
# looking for the name alone would match before the index has it.
RESULT_LINK = re.compile(r'href="/entries/E[0-9A-Z]+"')


def _staff(role: Role, jurisdiction: str) -> StaffUser:
    """A staff member of ``role`` working for ``jurisdiction``; a bulk data set has none, so
    one is added (no usable password), a member of the bureau whose cases it opens."""
    user = db.session.execute(
        db.select(StaffUser).join(StaffJurisdiction, StaffJurisdiction.staff_id == StaffUser.id)
        .where(StaffUser.role == role, StaffJurisdiction.jurisdiction_code == jurisdiction)
    ).scalars().first()
    if user is None:
        user = StaffUser(username=f"bench-{role.value}-{jurisdiction}",
                         display_name=f"测速{role.value}", role=role,
                         password_hash=hash_password(secrets.token_hex(16)), active=True)
        db.session.add(user)
        db.session.flush()
        db.session.add(StaffJurisdiction(staff_id=user.id, jurisdiction_code=jurisdiction))
        db.session.flush()
    return user


def publish_one(app, rng: random.Random) -> str:
    profile = load_profile(app.config["PORTAL_PROFILE"])
    name = "佳木斯市" + "".join(rng.choice(SYLLABLES) for _ in range(4)) + "测速商贸有限公司"
    subject = Subject(kind=SubjectKind.ORGANISATION, name=name, uscc=identifiers.generate_uscc(rng))
    db.session.add(subject)
    bureau = jurisdictions.ensure_seeded(db.session, profile.code).code
    clerk, reviewer, approver = (_staff(role, bureau)
                                 for role in (Role.CLERK, Role.REVIEWER, Role.APPROVER))
    calendar = load_calendar(db.session)
    today = clock.today()
    ground = next(g.code for g in profile.grounds if g.public and "organisation" in g.subject_kinds)
    case = cases.open_case(db.session, clerk, profile, subject,
                           cases.CaseInput(ground=ground, facts="测速用案件。"), today - dt.timedelta(days=40))
    cases.serve_pre_notice(db.session, clerk, case, profile, calendar, today - dt.timedelta(days=40))
    cases.complete_review(db.session, reviewer, case, today - dt.timedelta(days=10))
    cases.propose_listing(db.session, clerk, case)
    cases.approve_listing(db.session, approver, case, profile, calendar, today - dt.timedelta(days=2))
    cases.publish_case(db.session, clerk, case, profile, app.config["PORTAL_LOOKUP_KEY"], today)
    db.session.commit()
    return name


def wait_until_found(port: int, name: str, timeout: float = 30.0) -> float:
    url = f"http://127.0.0.1:{port}/search?" + urllib.parse.urlencode({"q": name})
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with urllib.request.urlopen(url, timeout=5) as response:
            if RESULT_LINK.search(response.read().decode()):
                return time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError(f"{name} not searchable after {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    app = create_app()
    rng = random.Random()
    latencies = []
    with app.app_context():
        for _ in range(args.rounds):
            name = publish_one(app, rng)
            latencies.append(wait_until_found(args.port, name))
            print(f"{name}: searchable after {latencies[-1]:.2f} s")
    print(f"median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s "
          f"over {len(latencies)} rounds (target: 2 s)")


if __name__ == "__main__":
    main()
