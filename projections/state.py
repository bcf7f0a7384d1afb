"""Plan state from the facts in force: the shape of GET /state (docs/api.md), shared by queries and replay."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from projections.facts import ADD, PATCH, SET, Fact


def in_force(facts: Iterable[Fact], as_of: dt.date, upto: int, retracted_at: dict[int, int]) -> dict[str, list[Fact]]:
    """The facts of each key that apply on `as_of`, as recorded up to position `upto`.

    A fact applies from its decision time; same-date facts apply in record order; a fact retracted
    at or before `upto` does not apply at all.
    """
    live: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        if fact.valid_from > as_of or fact.position > upto:
            continue
        retraction = retracted_at.get(fact.position)
        if retraction is not None and retraction <= upto:
            continue
        live[fact.key].append(fact)
    for key, group in live.items():
        group.sort(key=lambda f: (f.valid_from, f.position))
        if group[0].mode == SET:
            live[key] = group[-1:]
    return live


def _established(group: list[Fact]) -> bool:
    """A merged subject exists only from the fact that established it (the one carrying its code)."""
    return bool(group) and "code" in group[0].value


def _merged(group: list[Fact]) -> dict:
    merged: dict = {}
    for fact in group:
        merged.update(fact.value)
    merged["decision"] = group[0].value.get("decision")
    merged["revisions"] = len(group) - 1
    merged.pop("revised", None)
    merged.pop("position", None)
    return merged


def _plain(fact: Fact, *drop: str) -> dict:
    dropped = frozenset(("position", *drop))  # built once, not once per field
    return {k: v for k, v in fact.value.items() if k not in dropped}


def assemble(live: dict[str, list[Fact]]) -> dict:
    """Build the state document from the facts in force, in a stable order."""
    by_kind: dict[str, list[tuple[list[str], list[Fact]]]] = defaultdict(list)
    for key in sorted(live):
        parts = key.split("|")
        by_kind[parts[0]].append((parts[1:], live[key]))

    def one(kind: str, *parts) -> list[Fact] | None:
        return live.get("|".join([kind, *map(str, parts)]))

    vision = one("vision")
    state: dict = {"vision": _plain(vision[-1]) if vision else None}

    state["terms"] = [_plain(g[-1]) for _, g in by_kind["term"]]
    state["indicators"] = [_plain(g[-1]) for _, g in by_kind["indicator"]]

    targets: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for (owner_kind, owner, _indicator, _year), group in by_kind["target"]:
        targets[(owner_kind, owner)].append(_plain(group[-1], "goal", "result"))
    for rows in targets.values():
        rows.sort(key=lambda t: (t["indicator"], t["year"]))

    state["goals"] = []
    for (code,), group in by_kind["goal"]:
        if not _established(group):
            continue
        goal = _merged(group)
        goal["targets"] = targets.get(("goal", code), [])
        state["goals"].append(goal)

    bodies = {}
    for (code,), group in by_kind["body"]:
        body = _plain(group[-1])
        body.update(areas=[], frames=[], budgets=[], results=[], discharge=[])
        bodies[code] = body
    for (body, _area), group in by_kind["area"]:
        if body in bodies:
            bodies[body]["areas"].append(_plain(group[-1], "body"))

    adjustments: dict[tuple[str, str], list[Fact]] = {tuple(p): g for p, g in by_kind["adjustment"]}
    for (body, year), group in by_kind["frame"]:
        if body not in bodies:
            continue
        frame = _plain(group[-1], "body")
        deltas = adjustments.get((body, year), [])
        frame["base_amount_sek"] = frame["amount_sek"]
        frame["amount_sek"] += sum(f.value["delta_sek"] for f in deltas)
        frame["adjustments"] = [_plain(f, "body", "year") for f in deltas]
        bodies[body]["frames"].append(frame)

    budgets: dict[tuple[str, str], dict] = {}

    def budget(body: str, year: str) -> dict:
        return budgets.setdefault((body, year), {"year": int(year), "adopted": False, "late": False,
                                                 "adoption": None, "allocations": {}, "reallocations": []})

    for (body, year, area), group in by_kind["allocation"]:
        line = _plain(group[-1], "body", "year")
        budget(body, year)["allocations"][area] = line
    for (body, year), group in by_kind["budget_adoption"]:
        b = budget(body, year)
        b.update(adopted=True, late=bool(group[-1].value.get("late")), adoption=group[-1].value.get("decision"))
    for (body, year), group in by_kind["reallocation"]:
        b = budget(body, year)
        for fact in group:
            move = _plain(fact, "body", "year")
            b["reallocations"].append(move)
            lines = b["allocations"]
            lines.setdefault(move["from_area"], {"area": move["from_area"], "amount_sek": 0, "earmarks": []})
            lines.setdefault(move["to_area"], {"area": move["to_area"], "amount_sek": 0, "earmarks": []})
            lines[move["from_area"]] = {**lines[move["from_area"]],
                                        "amount_sek": lines[move["from_area"]]["amount_sek"] - move["amount_sek"]}
            lines[move["to_area"]] = {**lines[move["to_area"]],
                                      "amount_sek": lines[move["to_area"]]["amount_sek"] + move["amount_sek"]}
    for (body, _year), b in sorted(budgets.items(), key=lambda item: (item[0][0], int(item[0][1]))):
        if body in bodies:
            b["allocations"] = [b["allocations"][a] for a in sorted(b["allocations"])]
            bodies[body]["budgets"].append(b)

    for (code,), group in by_kind["result"]:
        result = _plain(group[-1])
        result["targets"] = targets.get(("result", code), [])
        if result["body"] in bodies:
            bodies[result["body"]]["results"].append(result)

    audits = {tuple(p): g[-1] for p, g in by_kind["audit_report"]}
    discharges = {tuple(p): g[-1] for p, g in by_kind["discharge"]}
    for body, year in sorted(set(audits) | set(discharges), key=lambda k: (k[0], int(k[1]))):
        if body not in bodies:
            continue
        audit, decided = audits.get((body, year)), discharges.get((body, year))
        bodies[body]["discharge"].append({
            "year": int(year),
            "recommendation": audit.value["recommendation"] if audit else None,
            "remarks": audit.value.get("remarks") if audit else None,
            "granted": decided.value["granted"] if decided else None,
            "remark": decided.value.get("remark") if decided else None,
            "decision": decided.value.get("decision") if decided else None,
        })
    for body in bodies.values():
        body["frames"].sort(key=lambda f: f["year"])
    state["bodies"] = [bodies[code] for code in sorted(bodies)]

    state["assignments"] = []
    for (code,), group in by_kind["assignment"]:
        if not _established(group):
            continue
        assignment = _merged(group)
        withdrawal = one("withdrawal", code)
        status = one("status", code)
        assignment["state"] = "withdrawn" if withdrawal else "active"
        assignment["withdrawal"] = _plain(withdrawal[-1]) if withdrawal else None
        assignment["status"] = status[-1].value["status"] if status else None
        assignment["status_report"] = _plain(status[-1]) if status else None
        state["assignments"].append(assignment)

    state["plans"] = []
    for (code,), group in by_kind["plan"]:
        plan = _plain(group[-1])
        adoption = one("plan_adoption", code)
        plan["adopted"] = bool(adoption)
        plan["adoption"] = adoption[-1].value.get("decision") if adoption else None
        state["plans"].append(plan)

    state["documents"] = [_merged(group) for _, group in by_kind["document"] if _established(group)]
    return state


__all__ = ["ADD", "PATCH", "SET", "assemble", "in_force"]
