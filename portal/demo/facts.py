"""Facts and reasons of a demo case that match its ground.

Grounds differ per profile, so the text is chosen by what the ground is
about (keywords of ``ground.text.zh``) and the numbers are drawn above the
thresholds the ground names ("超过20人次", "超过2万元", "6个月", "3年以上、
50万元以上" …): an amount the ground requires to exceed ¥10,000 is never
¥8,000 in the demo.
"""
from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

# (kind, keywords, flavour of organisation that typically commits it)
_KINDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("false_report", ("虚假投诉", "虚假举报"), "company"),
    ("injury_repay", ("先行支付",), "company"),
    ("records", ("个人权益记录", "信息泄露", "权益信息", "个人权益数据"), "agency"),
    ("impersonation", ("冒领", "多领", "丧失待遇领取资格"), "company"),
    ("commitment", ("承诺",), "company"),
    ("fictitious", ("虚构劳动关系", "补缴", "少缴"), "agency"),
    ("irregular", ("违规参加", "违规办理", "业务审批资料"), "agency"),
    ("medical", ("医疗", "药店", "药品", "医院", "病历", "诊疗", "住院", "处方", "医保",
                 "服务机构", "服务协议", "执业许可", "耗材", "就医", "购药", "个人账户", "年度考评"),
     "institution"),
    ("misuse", ("挪用", "侵占"), "company"),
    ("fraud", ("骗取", "骗保"), "company"),
    ("registration", ("社会保险登记", "办理登记", "未按规定参加社会保险"), "company"),
    ("base", ("缴费基数",), "company"),
    ("arrears", ("缴纳", "拖欠", "欠缴", "欠费", "缴费"), "company"),
    ("obstruct", ("拒不配合", "拒绝提供", "拒绝", "阻挠", "监督检查", "隐匿", "稽核"), "company"),
    ("injury", ("工伤",), "company"),
    ("data", ("申报", "报告", "上传"), "company"),
)

_WAN = re.compile(r"(\d+(?:\.\d+)?)\s*(万)?元")
_TIMES = re.compile(r"(\d+)\s*人次")
_MONTHS = re.compile(r"(\d+)\s*个月")
_YEARS = re.compile(r"(\d+)\s*年(以上|以下|以内)?")

FUNDS = ("基本养老保险", "失业保险", "工伤保险")
FORGED = ("劳动合同", "工资发放记录", "死亡证明", "伤残鉴定材料", "户籍证明", "档案材料",
          "出生日期证明", "职工花名册")
MEDICAL_ACTS = (
    "通过分解项目、串换项目收费等方式",
    "虚增就诊人次、虚记诊疗费用",
    "挂床住院、虚构住院天数",
    "将非医保支付项目串换为医保支付项目",
    "通过虚构购药事实将参保人员个人账户变现",
    "允许非参保人员以参保人员名义就医",
    "超标准收费、重复收费",
    "为参保人员违规开具大处方、大检查",
)
DATA_USES = ("商业营销", "贷款资质审核", "向第三方出售", "招聘背景调查")


@lru_cache(maxsize=512)
def kind_of(ground) -> tuple[str, str]:
    """(kind, organisation flavour) of a ground, from the words of its text."""
    text = ground.text.zh
    for kind, words, flavour in _KINDS:
        if any(w in text for w in words):
            return kind, flavour
    return "other", "company"


@dataclass(frozen=True)
class Thresholds:
    amount: Decimal | None      # yuan the amount must exceed
    times: int | None           # person-times
    months: int | None          # months (arrears, impersonation)
    years_min: int | None       # "3年以上"


@lru_cache(maxsize=512)
def thresholds(ground) -> Thresholds:
    text = ground.text.zh
    amounts = [Decimal(v) * (10000 if wan else 1) for v, wan in _WAN.findall(text)]
    times = [int(v) for v in _TIMES.findall(text)]
    months = [int(v) for v in _MONTHS.findall(text)]
    years = [int(v) for v, qual in _YEARS.findall(text) if qual == "以上"]
    return Thresholds(max(amounts) if amounts else None, max(times) if times else None,
                      max(months) if months else None, max(years) if years else None)


def _yuan(value: Decimal) -> str:
    return f"{value:,.2f}元"


def _amount(rng: random.Random, floor: Decimal | None, low: int, high: int) -> Decimal:
    if floor is not None:
        value = float(floor) * rng.uniform(1.05, 3.5)
    else:
        value = rng.uniform(low, high)
    return Decimal(f"{value:.2f}")


def _month(day: dt.date, back: int) -> str:
    y, m = divmod(day.year * 12 + day.month - 1 - back, 12)
    return f"{y}年{m + 1}月"


@dataclass(frozen=True)
class Facts:
    facts: str
    reasons: str
    amount: Decimal | None
    months: int | None = None          # figures a ground's threshold may name
    person_times: int | None = None


def compose(rng: random.Random, ground, kind: str, subject_name: str, is_person: bool,
            decided_on: dt.date, person_name_for: callable) -> Facts:
    """Facts, reasons and amount of a case on ``ground`` decided on ``decided_on``."""
    t = thresholds(ground)
    who = "当事人" if is_person else "该单位"
    since = _month(decided_on, rng.randint(8, 30))
    ordered = _month(decided_on, rng.randint(2, 6))
    amount: Decimal | None = None
    figures: dict = {}
    if kind == "registration":
        staff = rng.randint(6, 180)
        facts = (f"{who}自{since}起招用职工{staff}人，未依法办理社会保险登记；经责令限期改正并于"
                 f"{ordered}作出行政处罚决定后，逾期仍未改正。")
    elif kind == "arrears":
        months = (t.years_min * 12 + rng.randint(1, 14)) if t.years_min else (
            (t.months + rng.randint(1, 12)) if t.months else rng.randint(4, 30))
        amount = _amount(rng, t.amount, 30_000, 900_000)
        figures = {"months": months}
        staff = rng.randint(8, 400)
        facts = (f"{who}参保职工{staff}人，自{_month(decided_on, months)}起累计欠缴社会保险费{months}个月，"
                 f"金额{_yuan(amount)}；经{ordered}书面催缴并责令限期缴纳，逾期仍未缴纳或补足。")
    elif kind == "irregular":
        times = (t.times + rng.randint(1, 40)) if t.times else rng.randint(21, 80)
        amount = _amount(rng, t.amount, 20_000, 150_000)
        figures = {"person_times": times}
        facts = (f"{who}于{since}至{ordered}期间，伪造{rng.choice(FORGED)}等证明材料，为{times}名不符合条件的"
                 f"人员违规办理参保、补缴等社会保险业务共计{times}人次，从中牟利{_yuan(amount)}。")
    elif kind == "fictitious":
        people = rng.randint(3, 40)
        amount = _amount(rng, t.amount, 40_000, 600_000)
        facts = (f"{who}与{people}名人员虚构劳动关系，使用虚假劳动合同和工资表申请补缴社会保险费，"
                 f"致使相关人员违规取得养老保险缴费年限，涉及基金{_yuan(amount)}。")
    elif kind == "fraud":
        amount = _amount(rng, t.amount, 12_000, 260_000)
        facts = (f"{who}以伪造{rng.choice(FORGED)}等手段，于{since}至{ordered}期间骗取"
                 f"{rng.choice(FUNDS)}待遇{_yuan(amount)}；经责令退回，至今拒不退回。")
    elif kind == "commitment":
        amount = _amount(rng, t.amount, 8_000, 120_000)
        facts = (f"{who}在办理{rng.choice(FUNDS)}待遇申领时作出书面承诺（告知承诺制），经核查承诺内容不实，"
                 f"骗取待遇{_yuan(amount)}；经责令退回仍拒不退回。")
    elif kind == "impersonation":
        months = (t.months + rng.randint(1, 30)) if t.months else rng.randint(7, 40)
        monthly = Decimal(rng.randint(1800, 4200))
        amount = monthly * months
        if t.amount is not None and amount <= t.amount:
            amount = t.amount + monthly
        figures = {"months": months}
        holder = person_name_for(rng)
        relation = "本人" if is_person and rng.random() < 0.3 else (
            f"待遇领取人{holder}" + ("死亡" if rng.random() < 0.7 else "服刑") + "后，" + who)
        facts = (f"{relation}继续冒领基本养老金{months}个月，合计{_yuan(amount)}；经{ordered}责令退回，"
                 + ("仍拒不退回。" if rng.random() < 0.6 else "签订还款协议后未按时履约。"))
    elif kind == "records":
        people = rng.randint(50, 3000)
        facts = (f"{who}违反与社会保险经办机构签订的数据使用协议，将{people}名参保人员的社会保险个人权益"
                 f"记录用于{rng.choice(DATA_USES)}，造成个人权益信息泄露。")
    elif kind == "medical":
        amount = _amount(rng, t.amount, 30_000, 400_000)
        text = ground.text.zh
        generic = "服务协议" in text or "服务机构" in text
        if generic:
            act = rng.choice(MEDICAL_ACTS) + "，违反服务协议约定"
        else:
            behaviour = text.removesuffix("的")
            act = f"存在“{behaviour}”" + ("" if behaviour.endswith("行为") else "的行为")
        facts = (f"{who}作为协议管理医药机构，于{since}至{ordered}期间{act}，"
                 f"经稽核认定造成社会保险基金损失{_yuan(amount)}。")
    elif kind == "misuse":
        amount = _amount(rng, t.amount, 50_000, 800_000)
        facts = (f"{who}于{since}至{ordered}期间将代扣代缴的职工社会保险费{_yuan(amount)}挪作他用，"
                 "未按规定缴入社会保险基金，经责令改正后仍未改正。")
    elif kind == "base":
        staff = rng.randint(10, 300)
        amount = _amount(rng, t.amount, 20_000, 300_000)
        facts = (f"{who}自{since}起未如实申报社会保险缴费基数，以最低缴费基数为{staff}名职工申报缴费，"
                 f"少缴社会保险费{_yuan(amount)}；经责令限期改正，拒不整改。")
    elif kind == "injury_repay":
        amount = _amount(rng, t.amount, 15_000, 300_000)
        facts = (f"职工{person_name_for(rng)}于{since}发生工伤，{who}未依法参加工伤保险，工伤保险基金已先行支付"
                 f"工伤保险待遇{_yuan(amount)}；{who}有能力偿还而拒不偿还。")
    elif kind == "injury":
        facts = (f"{who}于{since}发生工伤事故后未及时报案，且工伤预防工作不到位，"
                 f"年度内发生工伤{rng.randint(3, 12)}起，工伤保险待遇未按规定落实。")
    elif kind == "obstruct":
        facts = (f"{who}在{ordered}接受社会保险基金专项稽核时，拒不提供工资发放记录、职工花名册等材料，"
                 "经书面告知后仍未改正。")
    elif kind == "false_report":
        facts = (f"{who}于{since}至{ordered}期间多次就同一事项提出投诉举报，经核实所举报事项均不属实，"
                 "且捏造事实、干扰正常经办秩序。")
    elif kind == "data":
        facts = f"{who}未按规定申报社会保险缴费基数，少报职工{rng.randint(5, 60)}人，经责令改正后仍未改正。"
    else:
        amount = _amount(rng, t.amount, 10_000, 200_000)
        facts = (f"{who}违反《中华人民共和国社会保险法》有关规定，于{since}至{ordered}期间造成社会保险基金"
                 f"损失{_yuan(amount)}，经责令改正仍拒不改正。")
    reasons = (f"上述行为符合“{ground.text.zh}”的情形，事实清楚、证据确凿；{subject_name}在规定期限内"
               f"未提出陈述申辩或申辩理由不成立。依据{ground.legal_basis.zh}，决定将其列入社会保险领域"
               "严重失信人名单。")
    return Facts(facts, reasons, amount, **figures)
