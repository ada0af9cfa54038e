"""Every form of the portal builds and renders its choices the way WTForms keeps supporting.

WTForms 3.3 deprecates (value, label) tuples as choices and the next release drops them:
each select, radio and checkbox-list field takes ``SelectChoice`` objects, at declaration
and when a view fills its choices (``portal.admin.forms.options``). pyproject's
filterwarnings turns any WTForms deprecation into an error for the whole suite; this test
also builds each form on its own, so a form no page test happens to show is covered.
"""
from __future__ import annotations

import importlib
import pkgutil
import warnings

import pytest
from flask_wtf import FlaskForm
from wtforms import SelectChoice
from wtforms.fields import SelectFieldBase

import portal.admin
import portal.public
import portal.submit
from portal.admin.forms import options


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _portal_forms() -> list[type[FlaskForm]]:
    for package in (portal.admin, portal.public, portal.submit):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    found = {cls for cls in _subclasses(FlaskForm) if cls.__module__.startswith("portal.")}
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


FORMS = _portal_forms()


def test_the_forms_are_found():
    names = {cls.__name__ for cls in FORMS}
    assert {"CaseForm", "DecideForm", "RoleForm", "ComplaintForm", "ProposalForm"} <= names


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_form_builds_and_renders_without_deprecated_choices(app):
    problems = []
    for form_class in FORMS:
        name = f"{form_class.__module__}.{form_class.__name__}"
        with app.test_request_context("/"), warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            try:
                form = form_class(formdata=None)
                for field in form:
                    if isinstance(field, SelectFieldBase):
                        bare = [c for c in field.choices or [] if not isinstance(c, SelectChoice)]
                        if bare:
                            problems.append(f"{name}.{field.name}: not SelectChoice: {bare}")
                        list(field.iter_choices())
                    field()
            except DeprecationWarning as warning:
                problems.append(f"{name}: {warning}")
    assert not problems, "\n".join(problems)


def test_options_takes_mappings_and_pairs_in_order():
    got = options({"": "All"}, [("b", "Bee"), ("a", "Ay")], {"c": "Cee"})
    assert all(isinstance(c, SelectChoice) for c in got)
    assert [(c.value, c.label) for c in got] == [("", "All"), ("b", "Bee"), ("a", "Ay"), ("c", "Cee")]
    assert options((code, code.upper()) for code in "xy")[1] == SelectChoice("y", "Y")
