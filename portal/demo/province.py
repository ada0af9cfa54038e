"""The multi-city demo: the five seeded cities on one database under one provincial platform.

``flask --app wsgi seed-demo --province`` builds a top jurisdiction (the platform, national
rules) and below it one jurisdiction per city profile, each with its own bureau staff
(``<city>-clerk`` …, password ``demo-<user name>-2026``) and its own demo city played through
the services under its own rules, plus a province-level administrator (``province-admin``)
who reads every city. A county bureau under Jiamusi (前进区, Jiamusi art. 3–4: each bureau
decides its own listings) shows that a jurisdiction is not a profile: it follows Jiamusi's rules
with its own staff and cases.
"""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import security
from portal.demo.city import CityPlan
from portal.demo.history import CityHistory
from portal.demo.names import NamePools
from portal.demo.places import place_for
from portal.demo.procedure import Procedure
from portal.demo.seed import DEFAULT_SEED, DEMO_TODAY, VISIBLE_TARGET, create_staff, seed_city
from portal.demo.subjects import SubjectFactory
from portal.models import Jurisdiction, PublishedEntry, Role, StaffJurisdiction, StaffUser
from portal.rules.profiles import load_profile
from portal.services import jurisdictions
from portal.services.calendar import load_calendar

#: The cities of the demo, in the order of the platform's lists.
CITIES = ("jiamusi", "chizhou", "shanghai", "fuzhou", "zhengzhou")
PLATFORM = "province"
#: A county bureau below Jiamusi, under Jiamusi's rules.
COUNTY = ("jiamusi-qianjin", "佳木斯市前进区", "Qianjin District, Jiamusi",
          "佳木斯市前进区人力资源和社会保障局",
          "Human Resources and Social Security Bureau of Qianjin District, Jiamusi")


def _jurisdiction(session: Session, values: dict, parent: str | None, position: int) -> None:
    row = session.get(Jurisdiction, values["code"])
    if row is None:
        row = Jurisdiction(**values, position=position, active=True)
        session.add(row)
    row.parent_code, row.position = parent, position
    session.flush()


def build_tree(session: Session) -> None:
    """The platform, its cities and the county (existing rows are kept, only placed)."""
    national = load_profile("national")
    _jurisdiction(session, {
        **jurisdictions.values_from_profile(national, "12333", PLATFORM),
        "name_zh": "示范省", "name_en": "Demo Province",
        "authority_zh": "示范省人力资源和社会保障厅",
        "authority_en": "Demo Province Department of Human Resources and Social Security",
        "departments": [{"zh": "示范省人力资源和社会保障厅",
                         "en": "Demo Province Department of Human Resources and Social Security"}],
    }, None, 0)
    for position, code in enumerate(CITIES, start=1):
        place = place_for(load_profile(code))
        _jurisdiction(session, jurisdictions.values_from_profile(
            load_profile(code), f"{place.area_code}-12333"), PLATFORM, position)
    code, name_zh, name_en, authority_zh, authority_en = COUNTY
    _jurisdiction(session, {
        **jurisdictions.values_from_profile(load_profile("jiamusi"), "0454-8612333", code),
        "name_zh": name_zh, "name_en": name_en, "authority_zh": authority_zh,
        "authority_en": authority_en,
        "departments": [{"zh": authority_zh, "en": authority_en}],
    }, "jiamusi", len(CITIES) + 1)


def _province_admin(session: Session) -> str:
    username = f"{PLATFORM}-admin"
    password = f"demo-{username}-2026"
    user = session.execute(sa.select(StaffUser).where(StaffUser.username == username)
                           ).scalar_one_or_none()
    if user is None:
        user = StaffUser(username=username, display_name="省平台管理员", role=Role.ADMIN,
                         password_hash=security.hash_password(password), totp_secret=None)
        session.add(user)
        session.flush()
    if session.get(StaffJurisdiction, (user.id, PLATFORM)) is None:
        session.add(StaffJurisdiction(staff_id=user.id, jurisdiction_code=PLATFORM))
    session.flush()
    return f"{username} / {password} (省平台管理员: reads every city)"


#: Entries the county's demo publishes (a small bureau).
COUNTY_LISTINGS = 24


def seed_county(session: Session, config: Mapping, seed: int, today: dt.date,
                listings: int = COUNTY_LISTINGS) -> list[str]:
    """A few listings decided by the county bureau, by its own staff, under Jiamusi's rules."""
    code, _name_zh, _name_en, authority_zh, _authority_en = COUNTY
    profile = load_profile("jiamusi")
    rng = random.Random(seed)
    place = place_for(profile)
    pools = NamePools(seed, place)
    staff, logins = create_staff(session, pools, rng, code, f"{code}-")
    proc = Procedure(session, profile, load_calendar(session), config["PORTAL_LOOKUP_KEY"],
                     staff, rng, today)
    history = CityHistory(session, proc, SubjectFactory(session, config["PORTAL_LOOKUP_KEY"],
                                                        pools),
                          pools, place, "0454-8612333", jurisdiction=code, department=authority_zh)
    for item in CityPlan(profile, rng, today, listings, 1, 1).build():
        history.play(item)
    session.flush()
    return logins


def seed_province(session: Session, config: Mapping, seed: int = DEFAULT_SEED,
                  today: dt.date = DEMO_TODAY, visible: int = VISIBLE_TARGET,
                  county_listings: int = COUNTY_LISTINGS, small: bool = False) -> dict:
    """Build every city of :data:`CITIES` under the platform (``visible`` published entries a
    city; ``small``: one record of each kind, see ``seed_city``) and the county; returns the
    listed entries per jurisdiction and the logins."""
    build_tree(session)
    logins = [_province_admin(session)]
    report: dict = {}
    rng = random.Random(seed)
    for code in CITIES:
        city = seed_city(session, config, seed=rng.randrange(1 << 30), today=today,
                         profile=load_profile(code), staff_prefix=f"{code}-", visible=visible,
                         small=small)
        logins.extend(city["_logins"])
    logins.extend(seed_county(session, config, rng.randrange(1 << 30), today, county_listings))
    listed = dict(session.execute(
        sa.select(PublishedEntry.jurisdiction, sa.func.count())
        .where(PublishedEntry.status == "listed").group_by(PublishedEntry.jurisdiction)).all())
    report.update({code: listed.get(code, 0) for code in (*CITIES, COUNTY[0])})
    report["jurisdictions"] = session.scalar(sa.select(sa.func.count()).select_from(Jurisdiction))
    report["_logins"] = logins
    return report
