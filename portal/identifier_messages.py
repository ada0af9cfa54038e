"""The refusal of an identifier (USCC, resident ID, organisation code, registration number),
in the words the reader sees: one wording for the case form and the report import.

``portal.rules.identifiers`` decides; this module only words the reason it gives.
"""
from __future__ import annotations

from flask_babel import gettext as _


def identifier_error(kind: str, reason: str) -> str:
    """``kind``: uscc | ric | org_code | reg_no; ``reason`` from InvalidIdentifier or "required"."""
    if reason == "required":
        return _("This field is required.")
    if reason == "length":
        return {
            "uscc": _("A unified social credit code has 18 characters."),
            "ric": _("A resident ID number has 18 characters."),
            "org_code": _("An organisation code has 9 characters (8 plus a check character)."),
            "reg_no": _("A business registration number has 15 digits."),
        }.get(kind, _("The number has the wrong length."))
    if reason == "format":
        return _("The number contains characters that are not allowed at their position.")
    if reason == "checksum":
        return _("The check character does not match: please look for a typing mistake.")
    if reason == "birth_date":
        return _("The birth date inside this ID number is impossible.")
    if reason == "region":
        return _("The region code at the start of this ID number does not exist.")
    return _("The number is not valid.")
