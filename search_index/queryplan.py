"""Query analysis: a search string becomes a :class:`QueryPlan` (no index access).

* identifier-shaped input (USCC, org code, registration number) → exact lookup;
* each CJK run → its bigrams (all must match, so recall does not depend on
  jieba segmenting query and name alike), a relaxed set without bigrams that
  cross a jieba word boundary (佳木斯恒达 still finds 佳木斯市恒达…), jieba
  words as a scoring bonus, and a trailing legal-form suffix split off as an
  optional bonus (恒达有限公司 → 恒达 + 有限公司);
* each ASCII word → pinyin readings (syllable segmentations, the last syllable
  prefix-matched for 3+ letters), initials, and plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from .analysis import (
    bigrams,
    cut_words,
    dedupe,
    identifier_of,
    normalize,
    pinyin_of,
    search_words,
    segments,
    strip_legal_suffix,
)

MAX_QUERY_CHARS = 200

# Standard toneless pinyin syllables as produced by pypinyin (ü written v).
_SYLLABLE_TEXT = """
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can
cang cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai
chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den
deng di dia dian diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang
fei fen feng fiao fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan
guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui
hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke
kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei len leng
li lia lian liang liao lie lin ling liu lo long lou lu luan lun luo lv lve ma mai man mang
mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen
neng ni nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan
pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin
qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo
sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi shou shu
shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao
te tei teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng
wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi
yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang
zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong
zou zu zuan zui zun zuo
"""
PINYIN_SYLLABLES = frozenset(_SYLLABLE_TEXT.split())
_SYLLABLE_PREFIXES = frozenset(s[:i] for s in PINYIN_SYLLABLES for i in range(1, len(s) + 1))
_MAX_SYLLABLE = max(map(len, PINYIN_SYLLABLES))
_MAX_SEGMENTATIONS = 6
MAX_READING = 60  # longer letters are not read as pinyin


def pinyin_segmentations(s: str, *, partial_last: bool) -> list[list[str]]:
    """Ways to read ASCII letters *s* as pinyin syllables, fewest syllables first.

    With ``partial_last`` the final piece may be an unfinished syllable
    (``"hengd"`` → ``["heng", "d"]``), the engine then prefix-matches it.
    """
    if not s or not s.isascii() or not s.isalpha() or len(s) > MAX_READING:
        return []
    n = len(s)

    def fits(start: int, end: int) -> bool:
        piece = s[start:end]
        return piece in PINYIN_SYLLABLES or (
            partial_last and end == n and piece in _SYLLABLE_PREFIXES
        )

    # fewest[i]: the fewest syllables that read s[i:] (n + 1: none does)
    fewest = [n + 1] * n + [0]
    for i in range(n - 1, -1, -1):
        for end in range(i + 1, min(n, i + _MAX_SYLLABLE) + 1):
            if fewest[end] < fewest[i] - 1 and fits(i, end):
                fewest[i] = fewest[end] + 1
    if fewest[0] > n:
        return []
    # readings with more syllables than the shortest one plus one are rarely meant
    # ("fuxiang" is fu-xiang, not fu-xi-ang) and make matching much looser: the walk
    # only follows pieces that can still end within that many syllables
    bound = fewest[0] + 1
    results: list[list[str]] = []

    def walk(pos: int, acc: list[str]) -> None:
        if len(results) >= 64:
            return
        if pos == n:
            results.append(list(acc))
            return
        for end in range(min(n, pos + _MAX_SYLLABLE), pos, -1):
            if len(acc) + 1 + fewest[end] <= bound and fits(pos, end):
                acc.append(s[pos:end])
                walk(end, acc)
                acc.pop()

    walk(0, [])
    results.sort(key=len)
    return results[:_MAX_SEGMENTATIONS]


@dataclass
class CJKClause:
    text: str  # the run without a stripped legal-form suffix
    bigrams: list[str]  # all bigrams of text; [text] for a single character
    relaxed: list[str]  # bigrams inside jieba words only (⊂ bigrams); [] if same
    words: list[str]  # jieba search words ≥ 3 chars: scoring bonus only
    suffix: str = ""  # stripped legal-form suffix, optional bonus
    suffix_bigrams: list[str] = field(default_factory=list)
    optional: bool = False  # only a legal-form suffix next to other clauses
    # toneless syllables of text (3+ characters, each with a reading), else []:
    # a homophone typed by a pinyin input method (冠理 for 管理) still matches
    pinyin: list[str] = field(default_factory=list)

    @property
    def single(self) -> bool:
        return len(self.text) == 1


@dataclass
class WordClause:
    text: str  # lower-case ASCII letters/digits
    segmentations: list[list[str]]  # pinyin readings (letters only)
    prefix: bool  # prefix-match pinyin (3+ letters)
    optional: bool = False


@dataclass
class QueryPlan:
    raw: str
    text: str  # normalized, truncated
    identifier: str | None = None
    clauses: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.identifier is None and not self.clauses

    def cjk_text(self) -> str:
        return "".join(c.text + c.suffix for c in self.clauses if isinstance(c, CJKClause))

    def latin_words(self) -> list[str]:
        return [c.text for c in self.clauses if isinstance(c, WordClause)]

    def needles(self) -> list[str]:
        """CJK strings worth highlighting."""
        out = []
        for c in self.clauses:
            if isinstance(c, CJKClause):
                out.extend(c.bigrams if not c.single else [c.text])
                out.extend(c.suffix_bigrams)
        return dedupe(out)


def _relaxed_bigrams(run: str) -> list[str]:
    """Bigrams of *run* except those joining two multi-character jieba words.

    佳木斯恒达 → 佳木 木斯 恒达 (drops 斯恒): a name may have more between the
    words (佳木斯市恒达…). Single-character words stay attached to their
    neighbours, so every character of the query is still required.
    """
    words = cut_words(run)
    drop = set()
    pos = 0
    for a, b in pairwise(words):
        pos += len(a)
        if len(a) >= 2 and len(b) >= 2:
            drop.add(pos - 1)  # the bigram starting at the last char of a
    return dedupe(run[i : i + 2] for i in range(len(run) - 1) if i not in drop)


HOMOPHONE_MIN_CHARS = 3  # shorter runs have too many homophones to be worth matching


def _homophone_key(run: str) -> list[str]:
    if len(run) < HOMOPHONE_MIN_CHARS:
        return []
    syllables = pinyin_of(run)
    if not all(syllables) or len(syllables) != len(run):
        return []
    # The query matches by its distinct syllable pairs (in any order): a run whose pairs
    # repeat (李莉莉 → li_li) would match every two-syllable name that sounds alike (李丽,
    # 黎力), the very breadth HOMOPHONE_MIN_CHARS keeps out.
    if len(set(pairwise(syllables))) < HOMOPHONE_MIN_CHARS - 1:
        return []
    return syllables


def analyze_query(q: str | None) -> QueryPlan:
    raw = "" if q is None else str(q)
    text = normalize(raw[: MAX_QUERY_CHARS * 2])[:MAX_QUERY_CHARS].strip()
    plan = QueryPlan(raw=raw, text=text)
    if not text:
        return plan
    ident = identifier_of(text)
    if ident:
        plan.identifier = ident
        return plan
    clauses: list = []
    for kind, seg in segments(text):
        if kind == "word":
            letters = seg.isalpha()
            clauses.append(
                WordClause(
                    text=seg,
                    segmentations=(
                        pinyin_segmentations(seg, partial_last=len(seg) >= 3) if letters else []
                    ),
                    prefix=letters and len(seg) >= 3,
                )
            )
            continue
        core, suffix = strip_legal_suffix(seg)
        if not core:  # the run is nothing but a legal form
            core, suffix = seg, ""
            only_suffix = True
        else:
            only_suffix = False
        grams = [core] if len(core) == 1 else dedupe(bigrams(core))
        relaxed = _relaxed_bigrams(core) if len(core) > 3 else []
        if len(relaxed) >= len(grams):
            relaxed = []
        clauses.append(
            CJKClause(
                text=core,
                bigrams=grams,
                relaxed=relaxed,
                words=dedupe(w for w, _, _ in search_words(core)) if len(core) >= 3 else [],
                suffix=suffix,
                suffix_bigrams=dedupe(bigrams(suffix)) if suffix else [],
                optional=only_suffix,
                pinyin=_homophone_key(core),
            )
        )
    # A bare legal form ("有限公司") is optional next to other words, required alone.
    if not any(not c.optional for c in clauses):
        for c in clauses:
            c.optional = False
    plan.clauses = clauses
    return plan


# --------------------------------------------------------------------------- distances


def substring_distance(needle, hay) -> int:
    """Edit distance of *needle* to the best-matching substring of *hay*.

    Works on strings or on sequences (e.g. pinyin syllable lists).
    """
    n = len(needle)
    if n == 0:
        return 0
    prev = list(range(n + 1))  # column for hay prefix of length 0: free start
    best = prev[n]
    for h in hay:
        cur = [0] * (n + 1)
        for i in range(1, n + 1):
            cost = 0 if needle[i - 1] == h else 1
            cur[i] = min(prev[i] + 1, cur[i - 1] + 1, prev[i - 1] + cost)
        best = min(best, cur[n])
        prev = cur
    return best
