"""Layers import one way, and no portal module imports itself back round a cycle.

Read from the source (no import runs): every ``import`` and ``from … import`` of a
portal module counts, at module level or inside a function.

The layers, lowest first:

- ``rules`` — the law as code: imports nothing of the portal but ``rules``.
- ``base`` — small neutral modules every layer may use (settings, the clock, labels,
  masking, paging, the search adapter …); they import only ``rules`` and each other.
  ``portal.extensions`` builds the database object on the models' declarative base.
- ``models`` — the tables: ``rules`` and ``base``.
- ``services`` — use cases and the read side shared by the blueprints (projection
  queries, serializers, export files): ``models``, ``rules``, ``base``.
- ``web`` — what the blueprints share (``portal.web``, caching, the front cache, JSON
  errors, evidence downloads, translated messages, the health report): the layers below.
- the blueprints ``public``, ``admin``, ``api``, ``submit`` — ``web`` and below, never
  each other.
- ``demo`` — demo data through the services.
- ``entry`` — the application factory, the commands and the worker: anything but a
  blueprint, except the factory, which registers them.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORTAL = ROOT / "portal"

BASE = {"config", "clock", "cursors", "deadline", "extensions", "heartbeat", "i18n", "labels",
        "logmask", "access_log", "paging", "ratelimit", "search", "security"}
WEB = {"web", "input_guard", "caching", "front", "json_errors", "attachments", "health",
       "public_scope", "compression", "static_files",
       "threshold_messages", "identifier_messages", "import_messages"}
ENTRY = {"portal", "cli", "backup_cli", "certificates_cli", "grades_cli", "import_cli", "mail_cli",
         "uploads_cli", "verify_cli", "worker", "webhook_jobs"}
BLUEPRINTS = ("public", "admin", "api", "submit")
PACKAGES = ("rules", "models", "services", "demo", *BLUEPRINTS)

_BELOW_WEB = {"rules", "base", "models", "services"}
ALLOWED: dict[str, set[str]] = {
    "rules": {"rules"},
    "base": {"rules", "base"},
    "models": {"rules", "base", "models"},
    "services": {"rules", "base", "models", "services"},
    "web": _BELOW_WEB | {"web"},
    **{bp: _BELOW_WEB | {"web", bp} for bp in BLUEPRINTS},
    "demo": _BELOW_WEB | {"demo"},
    "entry": _BELOW_WEB | {"web", "demo", "entry"},
}
#: Single edges a layer may take beyond its own: (importer, imported) -> why.
EDGES: dict[tuple[str, str], str] = {
    ("portal.extensions", "portal.models.base"): "the db object is built on the declarative base",
}
#: The application factory registers the blueprints: it is the one module above them.
FACTORY = "portal"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PORTAL.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """The portal modules ``module`` imports, anywhere in its source."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # ``from portal import clock`` imports the module portal.clock, not the package
            names = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in MODULES else origin
                     for alias in node.names]
        else:
            continue
        for name in names:
            if name == "portal" or name.startswith("portal."):
                target = _resolve(name)
                if target is not None and target != module:
                    found.add(target)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def layer(module: str) -> str:
    parts = module.split(".")
    if module == FACTORY:
        return "entry"
    if parts[1] in PACKAGES:
        return parts[1]
    for name, members in (("base", BASE), ("web", WEB), ("entry", ENTRY)):
        if parts[1] in members:
            return name
    raise AssertionError(f"{module}: a module of no layer; add it to tests/test_layers.py")


def test_every_module_has_a_layer():
    for module in MODULES:
        layer(module)
    listed = BASE | WEB | (ENTRY - {"portal"})
    top = {m.split(".")[1] for m in MODULES if m.count(".") == 1 and m.split(".")[1] not in PACKAGES}
    assert listed == top, "the layer lists name modules that do not exist, or miss some"


def test_layers_import_one_way():
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        for target in sorted(targets):
            if module == FACTORY or (module, target) in EDGES:
                continue
            if layer(target) not in ALLOWED[layer(module)]:
                wrong.append(f"{module} ({layer(module)}) imports {target} ({layer(target)})")
    assert wrong == []


def test_no_import_cycles():
    """No portal module reaches itself through imports (module level or in a function)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:              # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in GRAPH[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


def test_the_checks_see_the_imports_inside_functions():
    """The graph is read from the source: a function-level import is an edge too."""
    assert "portal.services.imports" in GRAPH["portal.import_cli"]      # imported in a function
    assert {"portal.clock", "portal.config"} <= GRAPH["portal"]          # ``from portal import clock``
    assert layer("portal.services.cases") == "services" and layer("portal.web") == "web"
