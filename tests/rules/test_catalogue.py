"""Every user-facing string is in the zh_CN catalogue, translated, with the same placeholders."""
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = {"zh_CN": "zh_Hans_CN", "en": "en"}  # Babel resolves zh_CN to zh_Hans_CN
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> set[str]:
    method_map = [("portal/**.py", "python"), ("templates/**.html", "jinja2"),
                  ("templates/email/**.txt", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords,
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"},
                     "templates/email/**.txt": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue(locale: str):
    with (ROOT / f"portal/translations/{CATALOGUES[locale]}/LC_MESSAGES/messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def test_zh_cn_catalogue_is_complete():
    catalogue = _catalogue("zh_CN")
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue if m.id}
    source = _source_messages()
    assert source, "no messages extracted: the extraction itself is broken"
    missing = sorted(s for s in source if s not in translated or not translated[s].string)
    assert not missing, "untranslated (run `make catalog`, then translate):\n" + "\n".join(missing)
    fuzzy = sorted(m.id for m in catalogue if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy translations: {fuzzy}"


def test_placeholders_survive_translation():
    for message in _catalogue("zh_CN"):
        if not message.id or not message.string:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        msgstr = message.string if isinstance(message.string, str) else message.string[0]
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(msgstr)), msgid
