"""Two portal hosts on one PostgreSQL, each with its own index and worker, proven side by side.

Two gunicorn servers on two ports (the production gunicorn.conf.py, two processes each,
Redis for the rate limits) and two workers, with separate instance directories and
search indexes, on one database (``bench/hosts.py``). The test process prepares the
data through the services and watches through HTTP.
"""
from __future__ import annotations

import datetime as dt
import os
import re

import pytest
import sqlalchemy as sa

from portal import clock, create_app
from portal import config as portal_config
from portal.extensions import db
from portal.models import IndexReplica, JobRun, Role, StaffUser, SubjectKind
from portal.rules.profiles import load_profile
from portal.services import cases
from portal.services.calendar import load_calendar
from tests.factories import enough, make_staff, make_subject

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("two-hosts")]

RESULT_LINK = re.compile(r'href="/entries/E[0-9A-Z]+"')
IN_CI = os.environ.get("CI", "").lower() == "true"
FOUND_WITHIN = 2.0          # seconds: the bound for publish-to-searchable on the far host


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from bench.hosts import Cluster

    try:
        engine = sa.create_engine(portal_config_pg_admin())
        with engine.connect():
            pass
        engine.dispose()
    except sa.exc.OperationalError as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    hosts = Cluster(tmp_path_factory.mktemp("hosts"),
                    extra_env={"PORTAL_API_CHECK_LIMIT": "4/minute"})
    with hosts:
        yield hosts


def portal_config_pg_admin() -> str:
    from bench.hosts import PG_ADMIN

    return PG_ADMIN


@pytest.fixture(scope="module")
def services(cluster, tmp_path_factory):
    """The services on the cluster's database, as a back-office request would use them."""
    app = create_app(portal_config.testing(cluster.database_url,
                                           tmp_path_factory.mktemp("services")))
    with app.app_context():
        from portal.services import jurisdictions

        jurisdictions.ensure_seeded(db.session, "jiamusi", "0454-12333")
        make_staff(db.session, Role.CLERK, "clerk.hosts")
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def decided_case(name: str) -> int:
    """A case decided five days ago, waiting for the clerk to publish it."""
    session = db.session
    profile = load_profile("jiamusi")
    clerk = session.scalar(sa.select(StaffUser).where(StaffUser.username == "clerk.hosts"))
    reviewer, approver = make_staff(session, Role.REVIEWER), make_staff(session, Role.APPROVER)
    subject = make_subject(session, SubjectKind.ORGANISATION, name=name)
    decided = clock.today() - dt.timedelta(days=5)
    opened = decided - dt.timedelta(days=30)
    ground = "J1"
    case = cases.open_case(session, clerk, profile, subject,
                           cases.CaseInput(ground=ground, facts="经查，该单位拒不改正。",
                                           document_no="佳人社失决〔2026〕9号",
                                           **enough(profile, ground)), opened)
    cases.serve_pre_notice(session, clerk, case, profile, load_calendar(session), opened)
    cases.complete_review(session, reviewer, case, decided - dt.timedelta(days=1))
    cases.propose_listing(session, clerk, case)
    cases.approve_listing(session, approver, case, profile, load_calendar(session), decided)
    session.commit()
    return case.id


def found(host, name: str) -> bool:
    return bool(RESULT_LINK.search(host.get("/search", params={"q": name}).text))


def publish_on(host, case_id: int) -> None:
    answer = host.post_step(case_id, "publish", published_on=clock.today().isoformat())
    assert answer.status_code == 302, answer.text[:800]
    assert answer.headers["Location"].endswith(f"/admin/cases/{case_id}"), answer.headers["Location"]


def test_a_listing_published_through_a_is_found_on_b_within_two_seconds(cluster, services):
    from bench.hosts import wait_for

    a, b = cluster["a"], cluster["b"]
    a.sign_in("clerk.hosts", "x")
    name = "佳木斯市远东双机测试建材有限公司"
    case_id = decided_case(name)
    assert not found(b, name)
    publish_on(a, case_id)
    hit, seconds = wait_for(lambda: found(b, name), timeout=30)
    assert hit, "host B never found the listing published through host A"
    print(f"publish-to-searchable on the far host: {seconds:.2f} s")
    assert seconds <= FOUND_WITHIN, f"found on host B after {seconds:.2f} s"
    # host A's own replica is applied by its own worker: it may be a poll behind B's
    hit, seconds = wait_for(lambda: found(a, name), timeout=30)
    assert hit and seconds <= FOUND_WITHIN, f"found on host A after {seconds:.2f} s"


def test_a_session_opened_on_a_works_on_b(cluster, services):
    a, b = cluster["a"], cluster["b"]
    browser = a.sign_in("clerk.hosts", "x", browser=__import__("requests").Session())
    on_b = browser.get(b.url("/admin/"), timeout=10, allow_redirects=False)
    assert on_b.status_code == 200 and 'action="/admin/logout"' in on_b.text
    # and signing out on B ends the session on A too
    tokens = dict(re.findall(r'name="([\w-]*csrf_token)"[^>]*value="([^"]+)"', on_b.text))
    browser.post(b.url("/admin/logout"), data={"csrf_token": tokens["csrf_token"]}, timeout=10)
    again = browser.get(a.url("/admin/"), timeout=10, allow_redirects=False)
    assert again.status_code == 302 and "/admin/login" in again.headers["Location"]


def test_a_rate_limit_holds_across_both_hosts(cluster, services):
    a, b = cluster["a"], cluster["b"]
    statuses = [host.get("/api/v1/check", params={"code": "91230800MA1B2C3D4E"}).status_code
                for host in (a, b, a, b, a)]
    assert 429 not in statuses[:4] and statuses[4] == 429     # 4 a minute in all, not per host


def test_the_daily_expiry_ran_once_for_both_hosts(cluster, services):
    from bench.hosts import wait_for

    def done():
        db.session.rollback()
        return db.session.get(JobRun, "expiry")

    run, _ = wait_for(done, timeout=30, every=0.2)
    assert run is not None and run.last_day == clock.today()
    assert run.host in ("host-a", "host-b")
    logs = "".join(host.worker_log.read_text() for host in cluster.hosts.values())
    assert logs.count(f"daily expiry of {clock.today().isoformat()} done") == 1
    anchors = [host.root / "audit-anchors.jsonl" for host in cluster.hosts.values()]
    assert sum(len(p.read_text().splitlines()) for p in anchors if p.exists()) == 1


def test_a_killed_worker_restarted_catches_up(cluster, services):
    from bench.hosts import wait_for

    a, b = cluster["a"], cluster["b"]
    a.sign_in("clerk.hosts", "x")            # the sign-out on B above ended every session
    b.kill_worker()
    name = "佳木斯市宏图重启测试商贸有限公司"
    publish_on(a, decided_case(name))
    hit, _ = wait_for(lambda: found(a, name), timeout=30)
    assert hit
    assert not found(b, name)                  # B's index is B's worker's: it waits
    b.start_worker()
    hit, seconds = wait_for(lambda: found(b, name), timeout=90, every=0.2)
    assert hit, "host B's restarted worker did not catch up"

    def caught_up():
        db.session.rollback()
        rows = {r.name: r for r in db.session.scalars(sa.select(IndexReplica))}
        top = db.session.scalar(sa.text("SELECT max(id) FROM outbox"))
        return len(rows) == 2 and all(r.position == top and r.pending == 0 for r in rows.values())

    assert wait_for(caught_up, timeout=60, every=0.5)[0]
