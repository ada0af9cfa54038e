"""Legal-form and group suffixes of organisation names, as batch screening strips them.

The law of company registration (《企业名称登记管理规定》 art. 6, 《市场主体登记管理条例》)
builds a name as 行政区划 + 字号 + 行业 + 组织形式: the organisation form at the end says
what kind of body it is, not which one. Screening compares names without it, so
"恒达建筑有限公司" and "恒达建筑有限责任公司" are the same name in another form, and
says so (``legal_form_stripped``).

Data, not code: a suffix added here is stripped everywhere screening reads a name
(:mod:`portal.rules.name_match`). Written in the normalised form (half-width brackets,
simplified characters); longest first is not needed: the matcher sorts them. Unlike the
search index (``search_index.analysis.LEGAL_FORM_SUFFIXES``), 集团 counts here: a group
screened under its holding company's name is the case screening exists for.
"""
from __future__ import annotations

#: Organisation forms: company law, partnership law, sole proprietorships, co-operatives.
LEGAL_FORMS: tuple[str, ...] = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "分公司",
    "公司",
    "合伙企业(有限合伙)",
    "合伙企业(普通合伙)",
    "合伙企业(特殊普通合伙)",
    "(有限合伙)",
    "(普通合伙)",
    "(特殊普通合伙)",
    "合伙企业",
    "个人独资企业",
    "独资企业",
    "个体工商户",
    "农民专业合作社",
    "专业合作社",
    "合作社",
)

#: Words of a group that come before the form (恒达集团有限公司, 恒达控股集团股份有限公司).
GROUP_WORDS: tuple[str, ...] = (
    "控股集团",
    "集团",
)
