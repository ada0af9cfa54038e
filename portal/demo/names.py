"""Name pools for demo data: people, companies and service institutions.

Faker supplies person names and street names (seeded, so deterministic);
company and institution names are composed here from brand characters,
trade words and legal forms, the way real Chinese registered names are
built: ``[城市][字号][行业][组织形式]``.  Building a :class:`NamePools` once
and drawing from it with a ``random.Random`` is fast enough for a million
rows (no Faker call per row).
"""
from __future__ import annotations

import random

from faker import Faker

from portal.demo.places import Place

# 字号 characters: the auspicious vocabulary of registered trade names.
BRAND_CHARS = (
    "华鑫盛达恒兴隆鸿泰瑞丰源宏德信通安博嘉润福禾金昌永利祥和明新佳龙凯誉天正诚汇远腾顺光"
    "海东北方元辰益康宇峰锦旭欣荣昊泽晟祺铭卓越宸启航冠亿万联合众鼎立伟业广聚俊豪城邦"
)

TRADES = (
    "建筑工程", "商贸", "物流", "餐饮管理", "物业管理", "房地产开发", "农业科技", "食品",
    "机械制造", "劳务派遣", "装饰工程", "电子科技", "木业", "粮油", "汽车销售服务", "酒店管理",
    "保安服务", "环保科技", "建材", "纺织", "生物科技", "文化传媒", "广告", "矿业", "家政服务",
    "运输", "米业", "水产", "贸易", "网络科技", "信息技术", "农机", "供热", "包装", "化工",
    "服装", "印务", "教育咨询", "旅行社", "钢结构", "电力工程", "市政工程", "园林绿化", "乳业",
)
# Weighted: most employers are limited-liability companies.
LEGAL_FORMS = ("有限公司",) * 6 + ("有限责任公司",) * 3 + ("股份有限公司",)
AGENCY_TRADES = ("人力资源服务", "劳务派遣", "企业管理咨询", "财务咨询", "社保代理服务")

HOSPITAL_KINDS = ("医院", "中医医院", "骨科医院", "口腔医院", "康复医院", "妇产医院", "眼科医院",
                  "综合门诊部", "中西医结合医院", "肛肠医院")
PHARMACY_FORMS = ("大药房有限公司", "医药连锁有限公司", "药店", "大药房连锁有限公司")
CARE_KINDS = ("养老服务中心", "康养中心", "护理院")
OTHER_CITIES = ("哈尔滨", "北京", "上海", "沈阳", "长春", "大连", "天津", "济南", "南京", "杭州",
                "广州", "深圳", "武汉", "成都", "西安", "合肥", "长沙", "郑州", "福州", "厦门")
ROAD_SUFFIXES = ("路", "街", "大街", "大道", "路", "路")
# Road names common to north-eastern and central Chinese cities.
ROADS = (
    "长安", "中山", "解放", "胜利", "光复", "友谊", "建设", "人民", "和平", "新华", "站前", "杏林",
    "保卫", "长胜", "永安", "顺和", "红旗", "民主", "文化", "兴华", "富民", "锦江", "安庆", "东风",
    "前进", "向阳", "通江", "滨江", "铁路", "学府", "百花", "青年", "团结", "工农", "西林", "南岗",
    "松花江", "长青", "林海", "梨园", "桥南", "新兴", "北环", "南环", "迎宾", "朝阳", "建国", "五一",
)
RELATIVES = ("之子", "之女", "之妻", "之夫", "之孙")


class NamePools:
    """Deterministic pools built once from a seeded Faker."""

    def __init__(self, seed: int, place: Place, size: int = 3000) -> None:
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.place = place
        self.surnames = sorted({fake.last_name() for _ in range(size)})
        self.given = sorted({fake.first_name() for _ in range(size)})
        self.full_names = [fake.name() for _ in range(size)]
        self.roads = list(ROADS)
        self.brands = self._brands(random.Random(seed), size)

    @staticmethod
    def _brands(rng: random.Random, size: int) -> list[str]:
        brands: set[str] = set()
        while len(brands) < size:
            brands.add(rng.choice(BRAND_CHARS) + rng.choice(BRAND_CHARS))
        return sorted(b for b in brands if b[0] != b[1])

    # ------------------------------------------------------------------ people

    def person(self, rng: random.Random) -> str:
        if rng.random() < 0.5:
            return rng.choice(self.full_names)
        return rng.choice(self.surnames) + rng.choice(self.given)

    # ---------------------------------------------------------------- places

    def district(self, rng: random.Random):
        return rng.choice(self.place.districts)

    def address(self, rng: random.Random, district=None) -> str:
        d = district or self.district(rng)
        road = rng.choice(self.roads) + rng.choice(ROAD_SUFFIXES)
        return f"{d.city}市{d.name}{road}{rng.randint(1, 999)}号"

    # ------------------------------------------------------------ employers

    def company(self, rng: random.Random, district=None) -> str:
        d = district or self.district(rng)
        brand, trade, form = rng.choice(self.brands), rng.choice(TRADES), rng.choice(LEGAL_FORMS)
        roll = rng.random()
        if roll < 0.55:
            return f"{d.city}{brand}{trade}{form}"
        if roll < 0.70:
            return f"{d.city}市{brand}{trade}{form}"
        if roll < 0.85 and d.name.endswith(("县", "市")):
            return f"{d.name}{brand}{trade}{form}"
        if roll < 0.93:
            return f"{brand}{trade}({d.city}){form}"
        parent = rng.choice([c for c in OTHER_CITIES if c != d.city])
        return f"{parent}{brand}{trade}有限公司{d.city}分公司"

    def agency(self, rng: random.Random, district=None) -> str:
        """An intermediary that files social-insurance business for others."""
        d = district or self.district(rng)
        return f"{d.city}{rng.choice(self.brands)}{rng.choice(AGENCY_TRADES)}{rng.choice(LEGAL_FORMS[:9])}"

    # ------------------------------------------------- service institutions

    def institution(self, rng: random.Random, district=None) -> str:
        """A hospital, pharmacy, clinic or care home (社会保险服务机构 / 定点医药机构)."""
        d = district or self.district(rng)
        brand = rng.choice(self.brands)
        roll = rng.random()
        if roll < 0.35:
            return f"{d.city}{brand}{rng.choice(HOSPITAL_KINDS)}"
        if roll < 0.45:
            return f"{d.city}市{d.name}{rng.choice(self.roads)}社区卫生服务中心"
        if roll < 0.75:
            name = f"{d.city}{brand}{rng.choice(PHARMACY_FORMS)}"
            if name.endswith("连锁有限公司") and rng.random() < 0.5:
                name += f"{rng.choice(self.roads)}店"
            return name
        if roll < 0.88:
            return f"{d.city}市{d.name}{brand}诊所"
        return f"{d.city}{brand}{rng.choice(CARE_KINDS)}"

    def organisation(self, rng: random.Random, flavour: str, district=None) -> str:
        if flavour == "institution":
            return self.institution(rng, district)
        if flavour == "agency":
            return self.agency(rng, district)
        return self.company(rng, district)
