"""Where the demo city is: districts with their administrative codes, phone
area code and the abbreviation used in document numbers, per profile.

The administrative codes are real (they pass the resident-ID region check of
``portal.rules.identifiers``) so the generated USCCs and ID numbers look like
the ones a bureau of that city would hold.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    code: str      # 6-digit administrative division code
    name: str      # 向阳区
    city: str      # 佳木斯  (short city name, for company names)


@dataclass(frozen=True)
class Place:
    city: str              # 佳木斯 (without 市)
    city_code: str         # 230800: region of USCCs issued by the city itself
    area_code: str         # 0454
    doc_abbr: str          # 佳人社 -> 佳人社失决〔2025〕12号
    districts: tuple[District, ...]


def _districts(city: str, pairs: str) -> tuple[District, ...]:
    out = []
    for item in pairs.split():
        code, name = item.split(":")
        out.append(District(code, name, city))
    return tuple(out)


PLACES: dict[str, Place] = {
    "jiamusi": Place("佳木斯", "230800", "0454", "佳人社", _districts(
        "佳木斯", "230803:向阳区 230804:前进区 230805:东风区 230811:郊区 230822:桦南县 "
                  "230826:桦川县 230828:汤原县 230881:同江市 230882:富锦市 230883:抚远市")),
    "chizhou": Place("池州", "341700", "0566", "池人社", _districts(
        "池州", "341702:贵池区 341721:东至县 341722:石台县 341723:青阳县")),
    "shanghai": Place("上海", "310000", "021", "沪人社", _districts(
        "上海", "310101:黄浦区 310104:徐汇区 310105:长宁区 310106:静安区 310107:普陀区 "
                "310109:虹口区 310110:杨浦区 310112:闵行区 310113:宝山区 310114:嘉定区 "
                "310115:浦东新区 310116:金山区 310117:松江区 310118:青浦区 310120:奉贤区 "
                "310151:崇明区")),
    "fuzhou": Place("福州", "350100", "0591", "榕人社", _districts(
        "福州", "350102:鼓楼区 350103:台江区 350104:仓山区 350105:马尾区 350111:晋安区 "
                "350112:长乐区 350121:闽侯县 350122:连江县 350181:福清市")),
    "zhengzhou": Place("郑州", "410100", "0371", "郑社保", _districts(
        "郑州", "410102:中原区 410103:二七区 410104:管城回族区 410105:金水区 410108:惠济区 "
                "410122:中牟县 410181:巩义市 410182:荥阳市 410183:新密市 410184:新郑市 "
                "410185:登封市")),
    # The national default has no city of its own: a handful of real districts.
    "national": Place("北京", "110000", "010", "人社", (
        *_districts("北京", "110105:朝阳区 110108:海淀区 110101:东城区"),
        *_districts("广州", "440106:天河区"),
        *_districts("深圳", "440305:南山区"),
        *_districts("杭州", "330106:西湖区"),
        *_districts("成都", "510107:武侯区"),
        *_districts("武汉", "420106:武昌区"),
    )),
}


def place_for(profile) -> Place:
    """The demo place of a profile; an unknown profile borrows the national set
    but keeps its own city name (``profile.name.zh`` without 市)."""
    place = PLACES.get(profile.code)
    if place is not None:
        return place
    city = profile.name.zh.removesuffix("市")
    base = PLACES["national"]
    return Place(city, base.city_code, base.area_code, city[:1] + "人社",
                 tuple(District(d.code, d.name, city) for d in base.districts))
