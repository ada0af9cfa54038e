"""Demo subjects: organisations with valid codes and legal representatives,
and persons with valid resident ID numbers.

Codes are unique in the database (``subjects.uscc``, ``subjects.id_hash``):
the factory remembers what it issued and what the database already holds.
"""
from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa
from sqlalchemy.orm import Session
from stdnum.cn import uscc as _uscc

from portal.demo.names import NamePools
from portal.models import PersonRole, RelatedPerson, Subject, SubjectKind
from portal.rules import identifiers
from portal.security import lookup_hash

# 登记管理部门码 + 机构类别码 by the kind of organisation the name says it is.
_PREFIX_BY_SUFFIX = (
    (("医院", "卫生服务中心"), "12"),          # 事业单位 (public hospitals, community centres)
    (("诊所", "药店"), "92"),                  # 个体工商户
    (("养老服务中心", "康养中心", "护理院", "门诊部"), "52"),  # 民办非企业单位
)


def uscc_prefix(name: str) -> str:
    if "公司" in name:
        return "91"
    for suffixes, prefix in _PREFIX_BY_SUFFIX:
        if name.endswith(suffixes) or any(s in name for s in suffixes):
            return prefix
    return "91"


def uscc_check(body: str) -> str:
    """GB 32100 check character of the first 17 characters."""
    return _uscc.calc_check_digit(body)


def with_prefix(code: str, prefix: str) -> str:
    """The same USCC body under another registration-authority/category prefix."""
    body = prefix + code[2:17]
    return body + uscc_check(body)


class SubjectFactory:
    def __init__(self, session: Session, key: str, pools: NamePools) -> None:
        self.session, self.key, self.pools = session, key, pools
        self.used_uscc: set[str] = set(
            session.execute(sa.select(Subject.uscc).where(Subject.uscc.is_not(None))).scalars())
        self.used_ids: set[str] = set(
            session.execute(sa.select(Subject.id_hash).where(Subject.id_hash.is_not(None))).scalars())
        self.used_names: set[str] = set(
            session.execute(sa.select(Subject.name).where(Subject.kind == SubjectKind.ORGANISATION))
            .scalars())

    # ------------------------------------------------------------- codes

    def uscc(self, rng: random.Random, region: str, prefix: str) -> str:
        while True:
            code = with_prefix(identifiers.generate_uscc(rng, region=region), prefix)
            if code not in self.used_uscc:
                self.used_uscc.add(code)
                return code

    def ric(self, rng: random.Random, region: str, born_from: int = 1958, born_to: int = 1996) -> str:
        while True:
            birth = dt.date(born_from, 1, 1) + dt.timedelta(
                days=rng.randrange((born_to - born_from) * 365))
            number = identifiers.generate_ric(rng, region=region, birth=birth)
            digest = lookup_hash(self.key, number)
            if digest not in self.used_ids:
                self.used_ids.add(digest)
                return number

    # ---------------------------------------------------------- subjects

    def organisation(self, rng: random.Random, flavour: str = "company") -> Subject:
        district = self.pools.district(rng)
        while True:
            name = self.pools.organisation(rng, flavour, district)
            if name not in self.used_names:
                self.used_names.add(name)
                break
        region = district.code if rng.random() < 0.6 else self.pools.place.city_code
        code = self.uscc(rng, region, uscc_prefix(name))
        old_record = rng.random() < 0.4   # registered before the 2015 code reform
        subject = Subject(
            kind=SubjectKind.ORGANISATION, name=name, uscc=code,
            org_code=identifiers.org_code_from_uscc(code),
            reg_no=identifiers.generate_reg_no(rng, region=district.code[:4] + "00")
            if old_record and code[:2] in ("91", "92") else None,
            address=self.pools.address(rng, district),
        )
        rep_name = self.pools.person(rng)
        rep_id = self.ric(rng, rng.choice(self.pools.place.districts).code)
        subject.people.append(RelatedPerson(
            role=PersonRole.LEGAL_REPRESENTATIVE, name=rep_name, id_number=rep_id,
            id_hash=lookup_hash(self.key, rep_id)))
        if rng.random() < 0.3:   # 相关责任人 (Jiamusi art. 7(一))
            for _ in range(rng.randint(1, 2)):
                other = self.ric(rng, rng.choice(self.pools.place.districts).code)
                subject.people.append(RelatedPerson(
                    role=PersonRole.RESPONSIBLE, name=self.pools.person(rng), id_number=other,
                    id_hash=lookup_hash(self.key, other)))
        self.session.add(subject)
        return subject

    def person(self, rng: random.Random, older: bool = False) -> Subject:
        district = self.pools.district(rng)
        number = self.ric(rng, district.code, *((1940, 1975) if older else (1958, 1998)))
        subject = Subject(
            kind=SubjectKind.PERSON, name=self.pools.person(rng), id_number=number,
            id_hash=lookup_hash(self.key, number), address=self.pools.address(rng, district),
        )
        self.session.add(subject)
        return subject
