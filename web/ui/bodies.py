"""Nämnder: the list of bodies and each body's page (frame, budget, uppdrag, resultat, follow-up, discharge)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from flask import abort, g, render_template, request

from web.ui import charts
from web.ui.blueprint import ui
from web.ui.context import load_tenant
from workers.formatting import decision_ref, period_key, period_label

FOLLOW_UP_KINDS = ("financial", "measure", "outcome", "assessment", "audit_report")

# The order bodies are listed in: the council first, then its committees, the board, the nämnder, the rest.
KIND_ORDER = {"council": 0, "council_committee": 1, "executive_board": 2, "committee": 3, "administration": 4,
              "company": 5}

RESULT_KINDS = {"expected": "Förväntat resultat", "own": "Eget resultat utifrån grunduppdraget"}
ATTAINMENT = {"met": "Uppfyllt", "partly_met": "Delvis uppfyllt", "not_met": "Ej uppfyllt"}
RECOMMENDATION = {"grant": "Tillstyrker ansvarsfrihet", "refuse": "Avstyrker ansvarsfrihet"}


# --- small helpers ------------------------------------------------------------------------------------


def decided_on(decision: dict | None) -> dt.date | None:
    """The day a decision takes effect (its effective date, else the meeting date)."""
    if not decision:
        return None
    return dt.date.fromisoformat(decision.get("effective_from") or decision["date"])


def requested_year(default: int) -> tuple[int, str | None]:
    """?year= as a year, or the default with a note when it is not one."""
    raw = request.args.get("year", "").strip()
    if not raw:
        return default, None
    if raw.isdigit() and 1900 <= int(raw) <= 2200:
        return int(raw), None
    return default, "Ange året med fyra siffror, till exempel 2024."


def frame_of(body: dict, year: int) -> dict | None:
    return next((f for f in body["frames"] if f["year"] == year), None)


def frame_at(frame: dict | None, day: dt.date) -> int | None:
    """The frame as it stood on `day`: the amount set plus the adjustments decided by then."""
    if frame is None:
        return None
    return frame["base_amount_sek"] + sum(a["delta_sek"] for a in frame["adjustments"]
                                          if (decided_on(a.get("decision")) or day) <= day)


def _grouped(facts: dict, kind: str, *parts: str) -> list:
    prefix = "|".join((kind, *parts)) + "|"
    return [group for key, group in facts.items() if key.startswith(prefix)]


def financial_rows(facts: dict, body: dict, year: int) -> tuple[list[dict], list[dict]]:
    """The body's financial follow-up of `year`: totals per period (with frame and deviation) and area lines."""
    frame = frame_of(body, year)
    totals, areas = [], []
    for group in _grouped(facts, "financial", body["code"]):
        value = group[-1].value
        if not str(value["period"]).startswith(str(year)):
            continue
        row = dict(value)
        if value.get("area"):
            areas.append(row)
            continue
        reported = dt.date.fromisoformat(value["reported_on"]) if value.get("reported_on") else group[-1].valid_from
        row["frame_sek"] = frame_at(frame, reported)
        forecast = value.get("forecast_sek")
        row["deviation_sek"] = (row["frame_sek"] - forecast) if row["frame_sek"] is not None and forecast is not None \
            else None
        row["over"] = row["deviation_sek"] is not None and row["deviation_sek"] < 0
        totals.append(row)
    totals.sort(key=lambda r: period_key(r["period"]))
    areas.sort(key=lambda r: (period_key(r["period"]), r["area"]))
    return totals, areas


def measures_of(facts: dict, code: str) -> list[dict]:
    found = [dict(f.value) for group in _grouped(facts, "measure", code) for f in group]
    found.sort(key=lambda m: (decided_on(m.get("decision")) or dt.date.min, m.get("position", 0)))
    return found


def follow_up_flag(totals: list[dict], measures: list[dict], year: int) -> dict | None:
    """The flag of rule 9: the latest forecast exceeds the frame; `missing` while no measure is decided that year."""
    if not totals or not totals[-1]["over"]:
        return None
    decided = [m for m in measures if int(m["year"]) == year]
    return {"latest": totals[-1], "missing": not decided, "measures": decided}


def _years(body: dict, facts: dict, as_of_year: int) -> list[int]:
    years = {as_of_year}
    years.update(f["year"] for f in body["frames"])
    years.update(b["year"] for b in body["budgets"])
    years.update(d["year"] for d in body["discharge"])
    for group in _grouped(facts, "financial", body["code"]):
        years.add(int(str(group[-1].value["period"])[:4]))
    for group in _grouped(facts, "measure", body["code"]):
        years.update(int(f.value["year"]) for f in group)
    return sorted(years)


def _outcome_index(facts: dict) -> dict[tuple[str, str], list[dict]]:
    """Outcomes per (indicator, body or "") in period order."""
    index: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for group in _grouped(facts, "outcome"):
        value = group[-1].value
        index[(value["indicator"], value.get("body") or "")].append(value)
    for rows in index.values():
        rows.sort(key=lambda v: period_key(v["period"]))
    return index


def _outcome_for(index, indicator: str, body: str, year: int | None = None) -> dict | None:
    """The latest outcome (of `year`, if given): the body's own figure, else the municipality's."""
    for owner in (body, ""):
        rows = [v for v in index.get((indicator, owner), []) if year is None or str(v["period"]).startswith(str(year))]
        if rows:
            return {**rows[-1], "own": owner == body}
    return None


# --- the list -----------------------------------------------------------------------------------------


@ui.route("/t/<tenant>/namnder")
def bodies(tenant: str):
    views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    moment = g.moment
    year, year_error = requested_year(moment.as_of.year)
    state = views.state(moment.as_of, moment.known_at)
    facts = views.facts_in_force(moment.as_of, moment.position, kinds=("financial", "measure"))
    names = {b["code"]: b["name"] for b in state["bodies"]}
    rows = []
    for body in sorted(state["bodies"], key=lambda b: (KIND_ORDER.get(b["kind"], 9), b["name"])):
        totals, _areas = financial_rows(facts, body, year)
        measures = measures_of(facts, body["code"])
        rows.append({"body": body, "frame": frame_of(body, year), "latest": totals[-1] if totals else None,
                     "flag": follow_up_flag(totals, measures, year), "parent": names.get(body.get("parent"))})
    years = sorted({year, moment.as_of.year, *(f["year"] for b in state["bodies"] for f in b["frames"])})
    return render_template("ui/bodies.html", state=state, rows=rows, year=year, years=years,
                           year_error=year_error, flagged=[r for r in rows if r["flag"]])


# --- one body -----------------------------------------------------------------------------------------


@ui.route("/t/<tenant>/namnd/<code>")
def body(tenant: str, code: str):
    views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    moment = g.moment
    state = views.state(moment.as_of, moment.known_at, prefixes=body_state_prefixes(code))
    found = [b for b in state["bodies"] if b["code"] == code]
    if not found:
        abort(404)
    body = found[0]
    names = {b["code"]: b["name"] for b in state["bodies"]}
    areas = {a["code"]: a["name"] for a in body["areas"]}
    indicators = {i["code"]: i for i in state["indicators"]}
    facts = views.facts_in_force(moment.as_of, moment.position, kinds=FOLLOW_UP_KINDS,
                                 prefixes=follow_up_prefixes(body))
    year, year_error = requested_year(moment.as_of.year)
    years = sorted({*_years(body, facts, moment.as_of.year), year})

    frame = frame_of(body, year)
    budget = next((b for b in body["budgets"] if b["year"] == year), None)
    budget_lines = _budget_lines(budget, areas) if budget else []
    totals, area_rows = financial_rows(facts, body, year)
    measures = measures_of(facts, code)
    flag = follow_up_flag(totals, measures, year)
    outcomes = _outcome_index(facts)
    results = _results(body, facts, outcomes, indicators)
    target_items = _target_items(results, indicators, year)
    received = [a for a in state["assignments"] if a.get("to_body") == code]
    given = [a for a in state["assignments"] if (a.get("decision") or {}).get("body") == code]
    audits = {int(group[-1].value["year"]): group[-1].value for group in _grouped(facts, "audit_report", code)}
    discharge = [{**d, "submitted_on": (audits.get(d["year"]) or {}).get("submitted_on")}
                 for d in sorted(body["discharge"], key=lambda d: d["year"], reverse=True)]

    frame_years = _frame_years(body)
    frame_svg = charts.frame_chart(
        "ram-diagram", f"Ekonomisk ram per år för {body['name']}",
        "Linjen visar ramen efter alla beslut; cirklar markerar ramen som fullmäktige fastställt i mål- och "
        "resursplanen och romber varje senare justering.", frame_years) if frame_years else None
    target_svg = charts.target_chart(
        "malvarde-diagram", f"Målvärde och utfall per resultat, senast kända år till och med {year}",
        "Stapeln visar utfallet, strecket målvärdet samma år; varje rad är ett resultat och år.",
        target_items) if target_items else None
    forecast_svg = charts.forecast_chart(
        "prognos-diagram", f"Prognos och ram {year} per uppföljningsperiod",
        "Nämndens prognos för helåret jämfört med ramen vid rapporttillfället.",
        [period_label(r["period"]) for r in totals], [r.get("forecast_sek") for r in totals],
        [r["frame_sek"] for r in totals]) if totals and frame else None

    return render_template(
        "ui/body.html", body=body, state=state, names=names, areas=areas, indicators=indicators, year=year,
        years=years, year_error=year_error, frame=frame, budget=budget, budget_lines=budget_lines,
        totals=totals, area_rows=area_rows, measures=measures, flag=flag, results=results,
        target_items=target_items, received=received, given=given, discharge=discharge,
        frame_years=frame_years, frame_svg=frame_svg, target_svg=target_svg, forecast_svg=forecast_svg,
        parent=names.get(body.get("parent")), children=[b for b in state["bodies"] if b.get("parent") == code],
        attainment=ATTAINMENT, result_kinds=RESULT_KINDS, recommendation=RECOMMENDATION)


def body_state_prefixes(code: str) -> tuple[str, ...]:
    """The state keys one body's page shows (projections/facts.py), not the whole municipality's plan: every
    body (names, parent, children), the indicators, every uppdrag with its withdrawal and status, every result
    with its målvärden (a result names its body in its value), and this body's areas, frames, budgets, audit
    reports and discharge."""
    return ("body|", "indicator|", "assignment|", "withdrawal|", "status|", "result|", "target|result|",
            *(f"{kind}|{code}|" for kind in ("area", "frame", "adjustment", "allocation", "budget_adoption",
                                             "reallocation", "audit_report", "discharge")))


def follow_up_prefixes(body: dict) -> tuple[str, ...]:
    """The fact keys of the follow-up one body's page reads (projections/facts.py): its own financial reports,
    measures and audit reports, the outcomes of the indicators of its results, and its results' assessments.
    The rest of the municipality's follow-up is not read at all."""
    code = body["code"]
    indicators = sorted({t["indicator"] for result in body["results"] for t in result["targets"]})
    return (f"financial|{code}|", f"measure|{code}|", f"audit_report|{code}|",
            *(f"outcome|{indicator}|" for indicator in indicators),
            *(f"assessment|result:{result['code']}|" for result in body["results"]))


def _budget_lines(budget: dict, areas: dict) -> list[dict]:
    """Each line of the detailed budget: as adopted, moved by omdispositioner, and now."""
    moved: dict[str, int] = defaultdict(int)
    for move in budget["reallocations"]:
        moved[move["from_area"]] -= move["amount_sek"]
        moved[move["to_area"]] += move["amount_sek"]
    return [{**line, "name": areas.get(line["area"], line["area"]), "moved_sek": moved.get(line["area"], 0),
             "adopted_sek": line["amount_sek"] - moved.get(line["area"], 0)} for line in budget["allocations"]]


def _frame_years(body: dict) -> list[dict]:
    """Per year: the frame set, then each adjustment in decision order, with the amount after each decision."""
    years = []
    for frame in body["frames"]:
        amount = frame["base_amount_sek"]
        steps = [{"kind": "set", "amount_sek": amount, "delta_sek": amount, "ref": decision_ref(frame["decision"]),
                  "decision": frame["decision"], "reason": f"Mål- och resursplan {frame.get('plan') or ''}".strip()}]
        for adjustment in sorted(frame["adjustments"], key=lambda a: decided_on(a.get("decision")) or dt.date.min):
            amount += adjustment["delta_sek"]
            steps.append({"kind": "adjustment", "amount_sek": amount, "delta_sek": adjustment["delta_sek"],
                          "ref": decision_ref(adjustment.get("decision")), "decision": adjustment.get("decision"),
                          "reason": adjustment.get("reason")})
        years.append({"year": frame["year"], "amount_sek": frame["amount_sek"], "steps": steps})
    return years


def _results(body: dict, facts: dict, outcomes, indicators: dict) -> list[dict]:
    """The body's results, each målvärde with the outcome of its year and the latest outcome."""
    assessments: dict[str, list[dict]] = defaultdict(list)
    for key, group in facts.items():
        if key.startswith("assessment|result:"):
            value = group[-1].value
            assessments[value["subject"].split(":", 1)[1]].append(value)
    results = []
    for result in body["results"]:
        rows = []
        for target in result["targets"]:
            outcome = _outcome_for(outcomes, target["indicator"], body["code"], target["year"])
            rows.append({**target, "outcome": outcome, "indicator_info": indicators.get(target["indicator"])})
        indicator_codes = sorted({t["indicator"] for t in result["targets"]})
        rows.sort(key=lambda r: (r["indicator"], r["year"]))
        latest = [(indicators.get(i), _outcome_for(outcomes, i, body["code"])) for i in indicator_codes]
        found = sorted(assessments.get(result["code"], []), key=lambda a: period_key(a["period"]))
        results.append({**result, "rows": rows, "latest": latest, "assessments": found,
                        "indicator_codes": indicator_codes})
    return results


def _target_items(results: list[dict], indicators: dict, year: int) -> list[dict]:
    """The chart's rows, per result and indicator: the målvärde and the outcome of the same year, for
    `year` or else the latest earlier year that has both (outcomes come after the year ends)."""
    items = []
    for result in results:
        latest: dict[str, dict] = {}
        for row in result["rows"]:
            if row["year"] > year or row["outcome"] is None:
                continue
            if row["indicator"] not in latest or row["year"] > latest[row["indicator"]]["year"]:
                latest[row["indicator"]] = row
        for code in sorted(latest):
            row = latest[code]
            indicator = indicators.get(code) or {}
            name = indicator.get("name") or code
            items.append({"label": f"{row['year']}: {name}", "name": name, "code": code, "result": result["code"],
                          "year": row["year"], "target": row["value"],
                          "outcome": row["outcome"]["value"], "period": row["outcome"]["period"],
                          "own": row["outcome"]["own"], "unit": indicator.get("unit"),
                          "direction": indicator.get("direction")})
    return items
