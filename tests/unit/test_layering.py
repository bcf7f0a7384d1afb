"""The domain is the innermost layer: it knows nothing of the web, the queue or a particular database driver."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import domain

DOMAIN_DIR = Path(domain.__file__).resolve().parent
FORBIDDEN = ("flask", "flask_smorest", "marshmallow", "apispec", "redis", "rq", "psycopg", "psycopg2",
             "psycopg_pool", "sqlite3", "web", "workers", "projections")
SOURCES = sorted(DOMAIN_DIR.rglob("*.py"))
# Files known to break the rule; each is a domain bug, kept visible as a strict xfail until it is fixed.
KNOWN_VIOLATIONS: dict[str, str] = {}


def _source_param(path: Path):
    name = str(path.relative_to(DOMAIN_DIR))
    marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=KNOWN_VIOLATIONS[name])] \
        if name in KNOWN_VIOLATIONS else []
    return pytest.param(path, id=name, marks=marks)


def _is_dynamic_import(func: ast.expr) -> bool:
    """`__import__("x")` or `importlib.import_module("x")`."""
    return (isinstance(func, ast.Name) and func.id == "__import__") or (
        isinstance(func, ast.Attribute) and func.attr == "import_module")


def _first_is_text(args: list[ast.expr]) -> bool:
    return bool(args) and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement in the file names, wherever the statement stands (also inside functions)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and _first_is_text(node.args):
            modules.add(node.args[0].value)
    return modules


def test_the_scan_sees_the_domain_and_its_imports():
    assert len(SOURCES) >= 15
    everything = set().union(*(imported_modules(path) for path in SOURCES))
    assert "eventsourcing.domain" in everything
    assert "domain.ledger" in everything


@pytest.mark.parametrize("path", [_source_param(path) for path in SOURCES])
def test_the_domain_imports_no_web_queue_or_database_driver(path):
    offending = sorted(m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN)
    assert offending == [], f"{path.name} imports {', '.join(offending)}"
