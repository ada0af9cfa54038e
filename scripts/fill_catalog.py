"""Merge translations from a tab-separated file (msgid<TAB>msgstr) into the zh_CN catalogue.

Usage: python scripts/fill_catalog.py FILE.tsv — the .po file stays the source of truth;
the TSV is a convenience for translating many new strings at once. Reports what is missing.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "portal/translations/zh_Hans_CN/LC_MESSAGES/messages.po"



def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as fh:
        table = {row[0]: row[1] for row in csv.reader(fh, delimiter="\t") if len(row) >= 2}
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in table:
            plural = not isinstance(message.id, str)
            message.string = (table[key],) * catalog.num_plurals if plural else table[key]
            message.flags.discard("fuzzy")
        elif not message.string:
            missing.append(key)
    with PO.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True)
    for key in missing:
        print(f"untranslated: {key}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
