"""Rules are judged when a decision is taken, never when a recorded event is replayed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import domain

DOMAIN_DIR = Path(domain.__file__).resolve().parent
SOURCES = sorted(DOMAIN_DIR.rglob("*.py"))


def _is_event_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (isinstance(target, ast.Name) and target.id == "event") or (
        isinstance(target, ast.Attribute) and target.attr == "event")


def event_bodies_that_raise(path: Path) -> list[str]:
    """`Class.method` of every @event-decorated function in the file whose body contains a raise."""
    found = []
    for cls in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(cls, ast.ClassDef):
            continue
        for method in cls.body:
            if isinstance(method, ast.FunctionDef) and any(map(_is_event_decorator, method.decorator_list)) \
                    and any(isinstance(node, ast.Raise) for node in ast.walk(method)):
                found.append(f"{cls.name}.{method.name} (line {method.lineno})")
    return found


def test_the_scan_finds_a_raise_inside_an_event_body(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("class A:\n    @event('Done')\n    def do(self, x):\n"
                      "        if x:\n            raise ValueError\n")
    assert event_bodies_that_raise(sample) == ["A.do (line 3)"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(DOMAIN_DIR)))
def test_no_event_body_judges_a_rule(path):
    # A stored event is history: replaying it must rebuild the aggregate even after a rule has been
    # tightened, so the check belongs in the command method that triggers the event.
    assert event_bodies_that_raise(path) == []
