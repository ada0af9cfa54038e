"""Publish-to-searchable on the far host: two portal hosts on one PostgreSQL.

    .venv/bin/python -m bench.far_host [--rounds 20]

Starts two hosts side by side (``bench/hosts.py``: gunicorn and a worker each, their own
index, one fresh database), prepares decided cases through the services, and has a
clerk publish each through host A's back-office form; then polls ``/search`` on host B
(the far host) and on host A every 20 ms until the entry is found. Prints the median and
the maximum for both, and writes them to ``bench/results/far_host.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from bench import procs
from bench.hosts import Cluster

RESULT_LINK = re.compile(r'href="/entries/E[0-9A-Z]+"')
SYLLABLES = "鑫泰恒瑞隆昌盛宏远兴达华信诚安康永嘉祥和通"
PASSWORD = "far-host-bench-2026"


def _prepare(database_url: str, work: Path, rounds: int, rng: random.Random) -> list[tuple[int, str]]:
    """Decided cases waiting to be published, and a clerk who can sign in."""
    from portal import clock, config, create_app
    from portal.extensions import db
    from portal.models import Role, StaffJurisdiction, StaffUser, Subject, SubjectKind
    from portal.rules import identifiers
    from portal.rules.profiles import load_profile
    from portal.security import hash_password
    from portal.services import cases, jurisdictions
    from portal.services.calendar import load_calendar

    app = create_app(config.testing(database_url, work))
    out = []
    with app.app_context():
        profile = load_profile("jiamusi")
        bureau = jurisdictions.ensure_seeded(db.session, profile.code).code
        staff = {}
        for role in (Role.CLERK, Role.REVIEWER, Role.APPROVER):
            user = StaffUser(username=f"far.{role.value}", display_name=f"测速{role.value}",
                             role=role, password_hash=hash_password(PASSWORD), active=True)
            db.session.add(user)
            db.session.flush()
            db.session.add(StaffJurisdiction(staff_id=user.id, jurisdiction_code=bureau))
            staff[role] = user
        calendar = load_calendar(db.session)
        today = clock.today()
        ground = next(g.code for g in profile.grounds
                      if g.public and "organisation" in g.subject_kinds)
        for _ in range(rounds):
            name = "佳木斯市" + "".join(rng.choice(SYLLABLES) for _ in range(4)) + "远端测速商贸有限公司"
            subject = Subject(kind=SubjectKind.ORGANISATION, name=name,
                              uscc=identifiers.generate_uscc(rng))
            db.session.add(subject)
            case = cases.open_case(db.session, staff[Role.CLERK], profile, subject,
                                   cases.CaseInput(ground=ground, facts="测速用案件。"),
                                   today - dt.timedelta(days=40))
            cases.serve_pre_notice(db.session, staff[Role.CLERK], case, profile, calendar,
                                   today - dt.timedelta(days=40))
            cases.complete_review(db.session, staff[Role.REVIEWER], case, today - dt.timedelta(days=10))
            cases.propose_listing(db.session, staff[Role.CLERK], case)
            cases.approve_listing(db.session, staff[Role.APPROVER], case, profile, calendar,
                                  today - dt.timedelta(days=2))
            db.session.commit()
            out.append((case.id, name))
        db.session.remove()
        db.engine.dispose()
    return out


def _found(host, name: str) -> bool:
    return bool(RESULT_LINK.search(host.get("/search", params={"q": name}).text))


def run(rounds: int, timeout: float = 30.0, echo=print) -> dict:
    from portal import clock

    rng = random.Random(2026)
    with tempfile.TemporaryDirectory(prefix="far-host-") as tmp, Cluster(Path(tmp) / "hosts") as hosts:
        a, b = hosts["a"], hosts["b"]
        waiting = _prepare(hosts.database_url, Path(tmp) / "services", rounds, rng)
        a.sign_in("far.clerk", PASSWORD)
        far, near = [], []
        for case_id, name in waiting:
            answer = a.post_step(case_id, "publish", published_on=clock.today().isoformat())
            published = time.monotonic()
            if answer.status_code != 302:
                raise RuntimeError(f"publishing case {case_id} on host A answered {answer.status_code}")
            seen_a = seen_b = None
            while seen_a is None or seen_b is None:
                now = time.monotonic() - published
                if now > timeout:
                    raise TimeoutError(f"{name} not searchable on both hosts after {timeout:.0f} s")
                if seen_b is None and _found(b, name):
                    seen_b = time.monotonic() - published
                if seen_a is None and _found(a, name):
                    seen_a = time.monotonic() - published
                time.sleep(0.02)
            far.append(seen_b)
            near.append(seen_a)
            echo(f"{name}: host B {seen_b:.2f} s, host A {seen_a:.2f} s")
    result = {"rounds": rounds,
              "far_host_s": {"median": round(statistics.median(far), 3), "max": round(max(far), 3)},
              "near_host_s": {"median": round(statistics.median(near), 3), "max": round(max(near), 3)},
              "target_s": 2.0}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    procs.install_cleanup()
    result = run(args.rounds)
    out = procs.ROOT / "bench" / "results" / "far_host.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"far host (B): median {result['far_host_s']['median']:.2f} s, max "
          f"{result['far_host_s']['max']:.2f} s; near host (A): median "
          f"{result['near_host_s']['median']:.2f} s, max {result['near_host_s']['max']:.2f} s "
          f"over {args.rounds} rounds (target: 2 s)")


if __name__ == "__main__":
    main()
