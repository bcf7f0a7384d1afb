"""Report content: a plain, JSON-serialisable report document built from a tenant's read models at one position."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from projections.facts import SET, STATE_KINDS, Fact, facts_of
from projections.queries import utc_text
from projections.state import assemble
from workers.formatting import (
    DASH,
    decision_ref,
    format_number,
    format_sek,
    period_end,
    period_key,
    period_label,
    period_months,
    plain_number,
    to_decimal,
)

KINDS = ("discharge_basis", "interim", "annual")
INTERIM_PERIODS = ("T1", "T2")
# Follow-up fact kinds the reports read besides the state (docs/spec/domain.md rules 9-11).
FOLLOW_UP_KINDS = ("financial", "outcome", "assessment", "measure", "report_adoption")
# What a discharge basis reads of the whole tenant before narrowing to the body's year: few facts each.
REGISTER_KINDS = ("body", "area", "indicator", "goal", "result", "assignment")
# KF decides ansvarsfrihet for nämnder (KS counts as one) and fullmäktigeberedningar.
DISCHARGE_BODY_KINDS = ("executive_board", "committee", "council_committee")

BODY_KIND_SV = {
    "council": "Kommunfullmäktige", "council_committee": "Fullmäktigeberedning", "executive_board": "Kommunstyrelse",
    "committee": "Nämnd", "administration": "Förvaltning", "company": "Bolag",
}
STATUS_SV = {"not_started": "Ej påbörjat", "ongoing": "Pågår", "completed": "Slutfört",
             "will_not_complete": "Kommer inte att slutföras"}
ATTAINMENT_SV = {"met": "Uppfyllt", "partly_met": "Delvis uppfyllt", "not_met": "Ej uppfyllt"}
RESULT_KIND_SV = {"expected": "Förväntat resultat", "own": "Eget resultat"}
RECOMMENDATION_SV = {"grant": "Tillstyrker ansvarsfrihet", "refuse": "Avstyrker ansvarsfrihet"}
SUBJECT_SV = {"goal": "Inriktningsmål", "result": "Resultat", "assignment": "Uppdrag"}
REPORT_KIND_OF = {"T1": "interim_t1", "T2": "interim_t2", None: "annual"}
AUDITORS = "Revisorerna"

# Column formats the renderer understands.
TEXT, SEK, SEK_SIGNED, NUMBER, NUMBER_SIGNED, DATE, CODE, YESNO, POSITION, LINES = (
    "text", "sek", "sek_signed", "number", "number_signed", "date", "code", "yesno", "position", "lines")


def collect(views, kind: str, *, year: int, body: str | None, period: str | None, as_of: dt.date,
            known_at: dt.datetime | None, upto: int, head_hash: str, generated_at: str,
            tenant_name: str | None = None, whole_ledger: bool = False) -> dict:
    """The report document of `kind`, read at ledger position `upto` and decision date `as_of`.

    The same arguments give the same document: everything comes from the read models at `upto`,
    and every list is sorted by code, year, period or position. `whole_ledger` reads every entry
    instead of the report's scope (the slow reference the narrowed reads are checked against).
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown report kind {kind!r}; expected one of {', '.join(KINDS)}.")
    if isinstance(year, bool) or not isinstance(year, int):
        raise ValueError(f"year must be an integer, not {year!r}.")
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise ValueError(f"as_of must be a date, not {as_of!r}.")
    if kind == "interim":
        if period not in INTERIM_PERIODS:
            raise ValueError(f"An interim report needs period T1 or T2, not {period!r}.")
    elif period is not None:
        raise ValueError(f"A {kind} report has no period (got {period!r}); only interim reports take T1 or T2.")
    if kind == "discharge_basis":
        if not body:
            raise ValueError("A discharge_basis report needs a body (the nämnd whose year is examined).")
    elif body is not None:
        raise ValueError(f"A {kind} report covers the whole tenant; body must be None (got {body!r}).")

    reader = read(views, kind, year=year, body=body, period=period, as_of=as_of, upto=upto,
                  whole_ledger=whole_ledger)
    tenant = views.app.tenant
    if kind == "discharge_basis":
        subject = reader.bodies.get(body)
        if subject is None:
            raise ValueError(f"Unknown body {body!r} in tenant {tenant!r} as of {as_of.isoformat()} "
                             f"(ledger position {upto}).")
        if subject["kind"] not in DISCHARGE_BODY_KINDS:
            raise ValueError(f"Body {body!r} is a {subject['kind']}; KF decides ansvarsfrihet only for nämnder, "
                             "the kommunstyrelse and fullmäktigeberedningar.")
        title = f"Ansvarsprövningsunderlag {year}: {subject['name']}"
    elif kind == "interim":
        title = f"Delårsrapport {period} {year}"
    else:
        title = f"Årsredovisning {year}: mål och budget"

    meta = {
        "tenant": tenant, "tenant_name": tenant_name or tenant, "kind": kind, "title": title, "year": year,
        "body": body, "body_name": reader.bodies[body]["name"] if body else None, "period": period,
        "as_of": as_of.isoformat(), "known_at": utc_text(known_at) if known_at else None, "position": upto,
        "head_hash": head_hash, "generated_at": generated_at, "lang": "sv",
    }
    doc = _Document(meta)
    if kind == "discharge_basis":
        _DischargeBasis(reader, doc, body, year).build()
    else:
        _Overview(reader, doc, year, period).build()
    return doc.as_dict()


# --- reading -------------------------------------------------------------------------------------


def read(views, kind: str, *, year: int, body: str | None, period: str | None, as_of: dt.date, upto: int,
         whole_ledger: bool = False) -> _Reader:
    """The reader of one report: only the facts and decisions its scope needs, unless `whole_ledger`."""
    if whole_ledger:
        return _Reader.whole_ledger(views, as_of, upto)
    if kind == "discharge_basis":
        return _Reader.body_year(views, as_of, upto, body, year)
    return _Reader.tenant_year(views, as_of, upto, year, period)


class _Reader:
    """The read models at one position and decision date: the state, follow-up facts and their history.

    Built by `body_year` (a discharge basis), `tenant_year` (interim and annual reports) or `whole_ledger`
    (every entry re-derived: the reference the narrowed reads are checked against in tests and the bench).
    """

    def __init__(self, views, as_of: dt.date, upto: int) -> None:
        self.views, self.as_of, self.upto = views, as_of, upto
        self.history: dict[str, list[Fact]] = {}
        self.entries: dict[int, dict] | None = None  # every entry, when the whole ledger was read

    @classmethod
    def whole_ledger(cls, views, as_of: dt.date, upto: int) -> _Reader:
        """Reads and re-derives every entry of the ledger: O(ledger), kept as the reference."""
        reader = cls(views, as_of, upto)
        entries, _ = views.timeline(upto=upto, limit=max(upto, 1))
        reader.entries = {entry["position"]: entry for entry in entries}
        history: dict[str, list[Fact]] = defaultdict(list)
        for position in sorted(reader.entries):
            entry = reader.entries[position]
            if entry.get("retracted_by") is not None and entry["retracted_by"] <= upto:
                continue
            for fact in facts_of(entry):
                if fact.valid_from <= as_of:
                    history[fact.key].append(fact)
        for group in history.values():
            group.sort(key=lambda f: (f.valid_from, f.position))
        reader.history = dict(history)
        reader._derive(views.facts_in_force(as_of, upto), views.facts_in_force(as_of, upto, kinds=FOLLOW_UP_KINDS))
        return reader

    @classmethod
    def body_year(cls, views, as_of: dt.date, upto: int, body: str, year: int) -> _Reader:
        """What a discharge basis of `body`'s `year` reads: the register (bodies, areas, indicators, goals,
        results, uppdrag), then that body-year's facts and its uppdrag, results and goals, then the outcomes of
        the indicators they have målvärden for. Three reads, each from the key table to the facts of
        those keys only, not the whole ledger."""
        reader = cls(views, as_of, upto)
        reader._read(prefixes=[f"{kind}|" for kind in REGISTER_KINDS])
        if body not in reader.bodies:
            return reader
        results = [r["code"] for r in reader.bodies[body]["results"]]
        assignments = [code for code, a in reader.assignments.items()
                       if body in (a["to_body"], a["decision"]["body"])]
        goals = sorted({r["goal"] for r in reader.bodies[body]["results"] if r.get("goal")}
                       | {reader.assignments[code]["goal"] for code in assignments
                          if reader.assignments[code].get("goal")})
        keys = [f"{kind}|{body}|{year}" for kind in ("frame", "adjustment", "budget_adoption", "reallocation",
                                                       "measure", "audit_report", "discharge")]
        keys += [f"{kind}|{code}" for code in assignments for kind in ("withdrawal", "status")]
        prefixes = [f"allocation|{body}|{year}|", f"financial|{body}|{year}"]
        prefixes += [f"target|result|{code}|" for code in results] + [f"target|goal|{code}|" for code in goals]
        prefixes += [f"assessment|{kind}:{code}|{year}" for kind, codes in
                     (("goal", goals), ("result", results), ("assignment", assignments)) for code in codes]
        reader._read(keys=keys, prefixes=prefixes)
        indicators = sorted({f.value["indicator"] for key, group in reader.history.items()
                             if key.startswith("target|") and key.endswith(f"|{year}") for f in group})
        reader._read(prefixes=[f"outcome|{code}|{year}" for code in indicators])
        return reader

    @classmethod
    def tenant_year(cls, views, as_of: dt.date, upto: int, year: int, period: str | None) -> _Reader:
        """What an interim or annual report reads: the whole state, and the follow-up and history of its year."""
        reader = cls(views, as_of, upto)
        state = views.facts_in_force(as_of, upto)
        bodies = sorted(key.split("|")[1] for key in state if key.startswith("body|"))
        indicators = sorted(key.split("|")[1] for key in state if key.startswith("indicator|"))
        report_period = f"{year}-{period}" if period else str(year)
        assessed = [f"goal:{key.split('|')[1]}" for key in state if key.startswith("goal|")]
        assessed += [f"result:{key.split('|')[1]}" for key in state if key.startswith("result|")]
        keys = [f"assessment|{subject}|{report_period}" for subject in assessed]
        keys += [f"report_adoption|{year}|{REPORT_KIND_OF[period]}"]
        keys += [f"{kind}|{code}|{year}" for code in bodies for kind in ("frame", "adjustment", "measure")]
        prefixes = ["withdrawal|", "status|"] + [f"financial|{code}|{year}" for code in bodies]
        prefixes += [f"outcome|{code}|{y}" for code in indicators for y in (year - 1, year)]
        reader._read(keys=keys, prefixes=prefixes, state=state)
        return reader

    def _read(self, keys=(), prefixes=(), state: dict[str, list[Fact]] | None = None) -> None:
        """Adds the history of more keys and derives the state and follow-up from all read so far."""
        self.history.update(self.views.fact_history(self.as_of, self.upto, keys=keys, prefixes=prefixes))
        if state is None:
            # The fact in force of a set-mode key is its latest; every fact of the other modes counts.
            state = {key: group if group[0].mode != SET else group[-1:] for key, group in self.history.items()
                     if key.split("|", 1)[0] in STATE_KINDS}
        follow = {key: group for key, group in self.history.items() if key.split("|", 1)[0] in FOLLOW_UP_KINDS}
        self._derive(state, follow)

    def _derive(self, state: dict[str, list[Fact]], follow: dict[str, list[Fact]]) -> None:
        self.state = assemble(state)
        self.bodies = {b["code"]: b for b in self.state["bodies"]}
        self.indicators = {i["code"]: i for i in self.state["indicators"]}
        self.goals = {g["code"]: g for g in self.state["goals"]}
        self.terms = {t["code"]: t for t in self.state["terms"]}
        self.assignments = {a["code"]: a for a in self.state["assignments"]}
        self.financial: dict[tuple[str, str, str], Fact] = {}
        self.outcomes: dict[tuple[str, str, str], Fact] = {}
        self.assessments: dict[tuple[str, str], Fact] = {}
        self.measures: dict[tuple[str, int], list[Fact]] = defaultdict(list)
        self.adoptions: dict[tuple[int, str], list[Fact]] = defaultdict(list)
        for key in sorted(follow):
            kind, *parts = key.split("|")
            group = follow[key]
            if kind == "financial":
                self.financial[(parts[0], parts[1], parts[2])] = group[-1]
            elif kind == "outcome":
                self.outcomes[(parts[0], parts[1], parts[2])] = group[-1]
            elif kind == "assessment":
                self.assessments[(parts[0], parts[1])] = group[-1]
            elif kind == "measure":
                self.measures[(parts[0], int(parts[1]))] = sorted(group, key=lambda f: (f.valid_from, f.position))
            elif kind == "report_adoption":
                self.adoptions[(int(parts[0]), parts[1])] = sorted(group, key=lambda f: (f.valid_from, f.position))

    def decisions(self, positions, body: str, subjects, since: dt.date) -> list[dict]:
        """The decisions and audit reports at `positions`, and those since `since` by or about `body` or about
        one of `subjects` (a superset of what the timeline shows; it filters them exactly), oldest first."""
        if self.entries is not None:
            return [self.entries[p] for p in sorted(self.entries)]
        return self.views.decisions_about(self.upto, positions=positions, body=body, subjects=subjects,
                                          decided_from=since)

    def facts(self, key: str) -> list[Fact]:
        """Every fact of a key in force on as_of or superseded by a later one (not retracted), oldest first."""
        return self.history.get(key, [])

    def frame(self, code: str, year: int) -> dict | None:
        """The body's frame for the year in force on as_of, adjustments included."""
        body = self.bodies.get(code)
        return next((f for f in body["frames"] if f["year"] == year), None) if body else None

    def frame_on(self, code: str, year: int, day: dt.date) -> int | None:
        """The frame of a body's year as decided by `day`: the latest FrameSet plus the adjustments by then."""
        sets = [f for f in self.facts(f"frame|{code}|{year}") if f.valid_from <= day]
        if not sets:
            return None
        deltas = [f for f in self.facts(f"adjustment|{code}|{year}") if f.valid_from <= day]
        return sets[-1].value["amount_sek"] + sum(f.value["delta_sek"] for f in deltas)

    def financial_report(self, code: str, year: int, period: str) -> Fact | None:
        """The body's report for `period`, else its latest report of the year before it ends."""
        exact = self.financial.get((code, period, ""))
        if exact is not None:
            return exact
        limit = period_key(period)
        earlier = [f for (b, p, area), f in self.financial.items()
                   if b == code and not area and p[:4] == str(year) and period_key(p) <= limit]
        return max(earlier, key=lambda f: period_key(f.value["period"]), default=None)

    def outcome(self, indicator: str, period: str, body: str | None) -> Fact | None:
        """An indicator's outcome for a period: the body's own if it reported one, else the municipality's."""
        if body:
            own = self.outcomes.get((indicator, period, body))
            if own is not None:
                return own
        return self.outcomes.get((indicator, period, ""))

    def status_at(self, assignment: str, period: str) -> Fact | None:
        """The latest status report of an uppdrag for a period up to and including `period`."""
        limit = period_key(period)
        reports = [f for f in self.facts(f"status|{assignment}") if period_key(f.value["period"]) <= limit]
        return max(reports, key=lambda f: (period_key(f.value["period"]), f.valid_from, f.position), default=None)

    def indicator_name(self, code: str) -> str:
        indicator = self.indicators.get(code)
        return indicator["name"] if indicator else code

    def unit(self, code: str) -> str | None:
        indicator = self.indicators.get(code)
        return indicator.get("unit") if indicator else None

    def reached(self, indicator: str, target, outcome) -> bool | None:
        if target is None or outcome is None:
            return None
        direction = (self.indicators.get(indicator) or {}).get("direction", "increase")
        t, o = to_decimal(target), to_decimal(outcome)
        return o <= t if direction == "decrease" else o >= t


def _diff(a, b):
    """a - b exactly, as a JSON number; None if either is missing."""
    if a is None or b is None:
        return None
    return plain_number(to_decimal(a) - to_decimal(b))


def _share(amount: int, months: int) -> int:
    """The linear share of a yearly amount for the first `months` months, in whole kronor."""
    return int((Decimal(amount) * months / 12).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _decision_columns(decision: dict | None) -> dict:
    decision = decision or {}
    # A delegated decision has no paragraph of its own: where it is written is the delegation it rests on.
    where = (f"delegationsbeslut ({decision.get('delegation')})" if decision.get("kind") == "delegated"
             else decision.get("paragraph"))
    return {"date": decision.get("date"), "organ": decision.get("body"), "paragraph": where,
            "registry_number": decision.get("registry_number")}


DECISION_COLUMNS = [("date", "Datum", DATE), ("organ", "Organ", CODE), ("paragraph", "Paragraf", TEXT),
                    ("registry_number", "Diarienummer", TEXT)]
# The same where another column already names the body concerned.
DECIDED_BY_COLUMNS = [("date", "Datum", DATE), ("organ", "Beslutat av", CODE), ("paragraph", "Paragraf", TEXT),
                      ("registry_number", "Diarienummer", TEXT)]


# --- the document --------------------------------------------------------------------------------


class _Document:
    """Collects sections (each a list of blocks), tables and charts in the order they are added."""

    def __init__(self, meta: dict) -> None:
        self.meta = meta
        self.sections: list[dict] = []
        self.tables: dict[str, dict] = {}
        self.charts: list[dict] = []

    def section(self, id_: str, heading: str) -> list[dict]:
        blocks: list[dict] = []
        self.sections.append({"id": id_, "heading": heading, "blocks": blocks})
        return blocks

    def table(self, name: str, title: str, columns: list[tuple], rows: list[dict], *,
              footer: list[dict] | None = None, empty: str = "Inga uppgifter.", note: str | None = None,
              group: tuple[str, dict[str, str]] | None = None,
              compact: tuple[list[tuple], list[dict], str | None] | None = None) -> dict:
        """A table: columns are (key, label, format) or (key, label, format, options).

        Options: `detail` (only in the CSV, the printed table leaves it out) and `unit_key` (the row key
        holding the value's unit, shown with it). `group` = (key, titles) prints the rows in groups
        headed by titles[key]; the key's own column is then a detail.

        `compact` = (columns, rows, note) is how the PDF presents a long table in fewer rows and cells; the
        HTML and the CSV keep every row. WeasyPrint's time grows with the cells it lays out, so the PDF also
        prints a table's four decision columns (date, organ, paragraph, diarienummer) as one.
        """
        if name in self.tables:
            raise AssertionError(f"table {name} added twice")
        specs = _specs(columns, group)
        keys = [spec["key"] for spec in specs]
        if compact is None and set(DECISION_KEYS) <= set(keys):
            compact = (columns, rows, note)
        printed = None
        if compact is not None:
            print_columns, print_rows = _one_decision_column(*compact[:2])
            print_specs = _specs(print_columns, group)
            print_keys = [spec["key"] for spec in print_specs]
            printed = {"columns": print_specs,
                       "rows": [{key: row.get(key) for key in print_keys} for row in print_rows],
                       "footer": [{key: row.get(key) for key in print_keys} for row in footer or []],
                       "note": compact[2]}
        self.tables[name] = {
            "title": title,
            "columns": specs,
            "rows": [{key: row.get(key) for key in keys} for row in rows],
            "footer": [{key: row.get(key) for key in keys} for row in footer or []],
            "empty": empty,
            "note": note,
            "group": {"key": group[0], "titles": group[1]} if group else None,
            "print": printed,
        }
        return {"type": "table", "table": name}

    def chart(self, chart: dict) -> dict:
        self.charts.append(chart)
        return {"type": "chart", "chart": chart["id"]}

    def as_dict(self) -> dict:
        return {"meta": self.meta, "sections": self.sections, "tables": self.tables, "charts": self.charts}


DECISION_KEYS = ("date", "organ", "paragraph", "registry_number")


def _specs(columns: list[tuple], group: tuple | None) -> list[dict]:
    specs = []
    for column in columns:
        key, label, fmt, options = (*column, {})[:4]
        specs.append({"key": key, "label": label, "format": fmt,
                      "detail": bool(options.get("detail")) or (group is not None and key == group[0]),
                      "unit_key": options.get("unit_key")})
    return specs


def _one_decision_column(columns: list[tuple], rows: list[dict]) -> tuple[list[tuple], list[dict]]:
    """The four decision columns as one cell, `2024-03-12 KF §45, KS 2024/12`: the same text in fewer cells."""
    keys = [column[0] for column in columns]
    if not set(DECISION_KEYS) <= set(keys):
        return columns, rows
    at = keys.index("date")
    merged = [column for column in columns if column[0] not in DECISION_KEYS]
    merged.insert(at, ("decided", "Datum, organ, §, dnr", TEXT))
    return merged, [{**row, "decided": _decision_text(row)} for row in rows]


def _decision_text(row: dict) -> str | None:
    text = " ".join(str(row[key]) for key in ("date", "organ", "paragraph") if row.get(key))
    if row.get("registry_number"):
        text = f"{text}, {row['registry_number']}" if text else row["registry_number"]
    return text or None


def _text(text: str) -> dict:
    return {"type": "paragraph", "text": text}


def _notice(text: str, level: str = "warning") -> dict:
    return {"type": "notice", "level": level, "text": text}


def _facts(*items: tuple[str, object, str]) -> dict:
    return {"type": "facts", "items": [{"label": label, "value": value, "format": fmt} for label, value, fmt in items]}


# --- discharge basis -----------------------------------------------------------------------------


class _DischargeBasis:
    """Ansvarsprövningsunderlag: one body's mandate, follow-up, audit and discharge for one year, nothing else."""

    def __init__(self, reader: _Reader, doc: _Document, code: str, year: int) -> None:
        self.r, self.doc, self.code, self.year = reader, doc, code, year
        self.body = reader.bodies[code]
        self.start, self.end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        self.cited: set[int] = set()
        self.organs: set[str] = {code}

    def cite(self, fact_or_position) -> int:
        position = fact_or_position if isinstance(fact_or_position, int) else fact_or_position.position
        self.cited.add(position)
        return position

    def build(self) -> None:
        self.results = [r for r in self.body["results"]
                        if r["decision"] and dt.date.fromisoformat(r["decision"]["date"]) <= self.end]
        self.assignments = self._assignments_in_scope()
        self.goal_codes = sorted({r["goal"] for r in self.results if r.get("goal")}
                                 | {a["goal"] for a in self.assignments if a.get("goal")})
        self._organ()
        self._frame()
        self._budget()
        self._goals()
        self._assignments()
        self._economy()
        self._indicators_and_assessments()
        self._measures()
        self._discharge()
        self._timeline()
        self._abbreviations()

    # mandate

    def _organ(self) -> None:
        b = self.body
        blocks = self.doc.section("organ", "Organ och underlag")
        administrations = sorted((x for x in self.r.bodies.values() if x.get("parent") == self.code),
                                 key=lambda x: x["code"])
        blocks.append(_facts(
            ("Organ", f"{b['name']} ({b['code']})", TEXT),
            ("Typ", BODY_KIND_SV.get(b["kind"], b["kind"]), TEXT),
            ("Förvaltning", ", ".join(f"{x['name']} ({x['code']})" for x in administrations) or DASH, TEXT),
            ("Verksamhetsår", str(self.year), TEXT),
        ))
        blocks.append(_text(
            f"Underlaget visar {b['name'].lower()}s uppdrag och resurser för {self.year}: ram och ramjusteringar, "
            "detaljbudget och omdispositioner, målvärden och uppdrag med alla revideringar, uppföljningen av "
            "ekonomi, indikatorer och måluppfyllelse, beslutade åtgärder, revisorernas berättelse och "
            "fullmäktiges beslut om ansvarsfrihet, samt alla beslut som rör nämnden. Andra organs ramar, "
            "budgetar och resultat ingår inte."))

    def _frame(self) -> None:
        blocks = self.doc.section("ram", f"Ekonomisk ram {self.year}")
        frame = self.r.frame(self.code, self.year)
        if frame is None:
            blocks.append(_text(f"Kommunfullmäktige har inte fastställt någon ram för {self.year}."))
            return
        events = [("set", f) for f in self.r.facts(f"frame|{self.code}|{self.year}")]
        events += [("adjust", f) for f in self.r.facts(f"adjustment|{self.code}|{self.year}")]
        events.sort(key=lambda e: (e[1].valid_from, e[1].position))
        in_force = self.r.facts(f"frame|{self.code}|{self.year}")[-1].position
        rows, base, deltas = [], 0, 0
        for what, fact in events:
            v = fact.value
            if what == "set":
                base = v["amount_sek"]
                earmarks = "; ".join(f"{e['purpose']} {format_sek(e['amount_sek'])}" for e in v.get("earmarks") or [])
                rows.append({**_decision_columns(v["decision"]), "event": "Ram fastställd",
                             "amount": v["amount_sek"], "frame_after": base + deltas,
                             "comment": f"Mål- och resursplan {v.get('plan')}."
                             + (f" Varav särskilt ändamål: {earmarks}." if earmarks else "")
                             + ("" if fact.position == in_force else " Ersatt av senare beslut."),
                             "position": self.cite(fact)})
            else:
                deltas += v["delta_sek"]
                rows.append({**_decision_columns(v["decision"]), "event": "Ramjustering", "amount": v["delta_sek"],
                             "frame_after": base + deltas, "comment": v.get("reason"), "position": self.cite(fact)})
            self.organs.add(v["decision"]["body"])
        for row in rows:
            row["comment"] = (row["comment"] or "").strip() or None
        blocks.append(_facts(
            ("Ram enligt mål- och resursplan", frame["base_amount_sek"], SEK),
            ("Ramjusteringar", sum(a["delta_sek"] for a in frame["adjustments"]), SEK_SIGNED),
            ("Ram efter justeringar", frame["amount_sek"], SEK),
            ("Varav särskilda ändamål", sum(e["amount_sek"] for e in frame.get("earmarks") or []), SEK),
        ))
        blocks.append(self.doc.table(
            "ram", f"Ram {self.year}: beslut och justeringar",
            [*DECISION_COLUMNS, ("event", "Beslut", TEXT), ("amount", "Belopp", SEK),
             ("frame_after", "Ram efter beslut", SEK), ("comment", "Kommentar", TEXT), ("position", "Post", POSITION)],
            rows))

    def _budget(self) -> None:
        blocks = self.doc.section("detaljbudget", f"Detaljbudget och omdispositioner {self.year}")
        budget = next((b for b in self.body["budgets"] if b["year"] == self.year), None)
        if budget is None:
            blocks.append(_text(f"Nämnden har ingen detaljbudget för {self.year} registrerad."))
            return
        if budget["adopted"]:
            self.organs.add(budget["adoption"]["body"])
            adoption = f"Antagen {decision_ref(budget['adoption'])}" + (
                " (för sent: verksamhetsplanen ska antas senast i december året före)" if budget["late"] else "")
            for fact in self.r.facts(f"budget_adoption|{self.code}|{self.year}")[-1:]:
                self.cite(fact)
        else:
            adoption = "Inte antagen"
        names = {a["code"]: a["name"] for a in self.body["areas"]}
        moves: dict[str, int] = defaultdict(int)
        move_rows = []
        for fact in self.r.facts(f"reallocation|{self.code}|{self.year}"):
            v = fact.value
            moves[v["from_area"]] -= v["amount_sek"]
            moves[v["to_area"]] += v["amount_sek"]
            self.organs.add(v["decision"]["body"])
            move_rows.append({**_decision_columns(v["decision"]),
                              "from_area": names.get(v["from_area"], v["from_area"]),
                              "to_area": names.get(v["to_area"], v["to_area"]), "amount": v["amount_sek"],
                              "reason": v.get("reason"), "position": self.cite(fact)})
        rows = []
        for line in budget["allocations"]:
            area = line["area"]
            allocated = self.r.facts(f"allocation|{self.code}|{self.year}|{area}")
            original = allocated[-1].value["amount_sek"] if allocated else 0
            for fact in allocated[-1:]:
                self.cite(fact)
            rows.append({"area": f"{names.get(area, area)} ({area})", "allocated": original,
                         "moved": moves.get(area, 0), "amount": line["amount_sek"],
                         "earmarks": "; ".join(f"{e['purpose']} {format_sek(e['amount_sek'])}"
                                               for e in line.get("earmarks") or []) or None,
                         "decision": decision_ref(allocated[-1].value["decision"]) if allocated else None})
        total = sum(r["amount"] for r in rows)
        frame = self.r.frame(self.code, self.year)
        blocks.append(_facts(("Verksamhetsplan med detaljbudget", adoption, TEXT),
                             ("Detaljbudget totalt", total, SEK),
                             ("Ram", frame["amount_sek"] if frame else None, SEK)))
        if frame and total != frame["amount_sek"]:
            blocks.append(_notice(f"Detaljbudgeten ({format_sek(total)}) skiljer sig från ramen "
                                  f"({format_sek(frame['amount_sek'])}) med {format_sek(total - frame['amount_sek'])}.",
                                  "info"))
        blocks.append(self.doc.table(
            "detaljbudget", f"Detaljbudget {self.year} per verksamhetsområde",
            [("area", "Verksamhetsområde", TEXT), ("allocated", "Budget enligt verksamhetsplan", SEK),
             ("moved", "Omdisponerat", SEK_SIGNED), ("amount", "Budget efter omdisposition", SEK),
             ("earmarks", "Särskilt ändamål", TEXT), ("decision", "Beslut", TEXT, {"detail": True})],
            rows, footer=[{"area": "Summa", "allocated": sum(r["allocated"] for r in rows),
                           "moved": sum(r["moved"] for r in rows), "amount": total}]))
        blocks.append(self.doc.table(
            "omdispositioner", f"Omdispositioner {self.year}",
            [*DECISION_COLUMNS, ("from_area", "Från", TEXT), ("to_area", "Till", TEXT), ("amount", "Belopp", SEK),
             ("reason", "Skäl", TEXT), ("position", "Post", POSITION)],
            move_rows, empty=f"Nämnden har inte beslutat om några omdispositioner för {self.year}."))

    def _goals(self) -> None:
        r = self.r
        blocks = self.doc.section("mal", f"Mål och målvärden {self.year}")
        result_rows = []
        for result in self.results:
            for fact in r.facts(f"result|{result['code']}")[-1:]:
                self.cite(fact)
            self.organs.add(result["decision"]["body"])
            result_rows.append({"code": result["code"], "kind": RESULT_KIND_SV.get(result["kind"], result["kind"]),
                                "goal": result.get("goal"), "title": result["title"],
                                "decision": decision_ref(result["decision"])})
        goal_rows = []
        for code in self.goal_codes:
            goal = r.goals.get(code)
            if goal is None:
                continue
            revisions = r.facts(f"goal|{code}")
            for fact in revisions:
                self.cite(fact)
                self.organs.add(fact.value["decision"]["body"])
            goal_rows.append({"code": code, "title": goal["title"], "decision": decision_ref(goal["decision"]),
                              "revisions": "; ".join(decision_ref(f.value["decision"]) for f in revisions[1:]) or None})
        blocks.append(self.doc.table(
            "resultat", "Nämndens förväntade och egna resultat",
            [("code", "Kod", CODE), ("kind", "Typ", TEXT), ("goal", "Inriktningsmål", CODE),
             ("title", "Resultat", TEXT), ("decision", "Beslut", TEXT)],
            result_rows, empty="Nämnden har inga resultat registrerade."))
        blocks.append(self.doc.table(
            "inriktningsmal", "Kommunfullmäktiges inriktningsmål som nämndens resultat och uppdrag hör till",
            [("code", "Kod", CODE), ("title", "Inriktningsmål", TEXT), ("decision", "Beslut", TEXT),
             ("revisions", "Reviderat", TEXT)],
            goal_rows, empty="Nämndens resultat och uppdrag hör inte till något inriktningsmål."))

        # Målvärden for the year and every decision that fixed or revised them.
        self.target_rows, history_rows = [], []
        owners = [("goal", code, "KF") for code in self.goal_codes] + \
                 [("result", res["code"], self.code) for res in self.results]
        for owner_kind, owner, level in owners:
            keys = sorted(k for k in r.history if k.startswith(f"target|{owner_kind}|{owner}|")
                          and k.endswith(f"|{self.year}"))
            for key in keys:
                facts = r.facts(key)
                indicator = facts[-1].value["indicator"]
                target = facts[-1].value["value"]
                outcome = r.outcome(indicator, str(self.year), self.code if owner_kind == "result" else None)
                value = outcome.value["value"] if outcome else None
                if outcome:
                    self.cite(outcome)
                self.target_rows.append({
                    "level": level, "owner": owner, "indicator": indicator,
                    "indicator_name": r.indicator_name(indicator),
                    "unit": r.unit(indicator), "target": target, "outcome": value, "deviation": _diff(value, target),
                    "reached": r.reached(indicator, target, value),
                    "scope": (DASH if outcome is None else "Nämnden" if outcome.value.get("body") else "Hela kommunen"),
                    "decision": decision_ref(facts[-1].value["decision"]), "revisions": len(facts) - 1})
                for fact in facts:
                    self.organs.add(fact.value["decision"]["body"])
                    history_rows.append({**_decision_columns(fact.value["decision"]), "owner": owner,
                                         "indicator": indicator, "value": fact.value["value"],
                                         "state": "Gäller" if fact is facts[-1] else "Ersatt",
                                         "position": self.cite(fact)})
        blocks.append(self.doc.table(
            "malvarden", f"Målvärden {self.year} och utfall",
            [("owner", "Mål/resultat", CODE), ("level", "Beslutat av", CODE),
             ("indicator", "Indikatorkod", CODE, {"detail": True}), ("indicator_name", "Indikator", TEXT),
             ("unit", "Enhet", TEXT, {"detail": True}), ("target", "Målvärde", NUMBER, {"unit_key": "unit"}),
             ("outcome", "Utfall", NUMBER, {"unit_key": "unit"}), ("deviation", "Avvikelse", NUMBER_SIGNED),
             ("reached", "Målvärdet nått", YESNO), ("scope", "Utfallet avser", TEXT),
             ("decision", "Beslut", TEXT, {"detail": True})],
            self.target_rows, empty=f"Inga målvärden för {self.year} är fastställda.",
            note="Avvikelse = utfall − målvärde. Om målvärdet är nått bedöms utifrån indikatorns riktning "
                 "(högre eller lägre är bättre)."))
        blocks.append(self.doc.table(
            "malvarden_beslut", f"Beslut om målvärden för {self.year}, med revideringar",
            [*DECISION_COLUMNS, ("owner", "Mål/resultat", CODE), ("indicator", "Indikator", CODE),
             ("value", "Målvärde", NUMBER), ("state", "Gäller", TEXT), ("position", "Post", POSITION)],
            history_rows, empty=f"Inga beslut om målvärden för {self.year}.",
            compact=([("owner", "Mål/resultat", CODE), ("indicator", "Indikator", CODE),
                      ("decisions", "Målvärde: beslut (datum, organ, §, dnr), äldst först", LINES),
                      ("positions", "Poster", TEXT)], _targets_per_indicator(history_rows),
                     "I PDF-versionen står varje målvärdes beslut och revideringar på en rad per målvärde; HTML- och "
                     "CSV-versionerna har en rad per beslut.")))
        charted = [row for row in self.target_rows if row["outcome"] is not None]
        if charted:
            blocks.append(self.doc.chart({
                "id": "malvarden_utfall", "type": "bullet",
                "title": f"Målvärde och utfall {self.year} per indikator",
                "description": f"Utfall {self.year} jämfört med målvärdet för nämndens resultat och de "
                               "inriktningsmål de hör till.",
                "items": [{"label": f"{row['owner']} · {row['indicator']}", "target": row["target"],
                           "outcome": row["outcome"], "unit": row["unit"],
                           "direction": (r.indicators.get(row["indicator"]) or {}).get("direction", "increase")}
                          for row in charted]}))

    def _assignments_in_scope(self) -> list[dict]:
        """Uppdrag to the body (or given by it to its förvaltning) that were part of its year."""
        chosen = []
        for code in sorted(self.r.assignments):
            a = self.r.assignments[code]
            issued = dt.date.fromisoformat(a["decision"]["date"])
            if a["to_body"] != self.code and a["decision"]["body"] != self.code:
                continue
            if issued > self.end:
                continue
            withdrawal = self.r.facts(f"withdrawal|{code}")
            if withdrawal and withdrawal[-1].valid_from < self.start:
                continue
            before = self.r.status_at(code, f"{self.year - 1}")
            if before and before.value["status"] in ("completed", "will_not_complete"):
                continue
            chosen.append(a)
        return chosen

    def _assignments(self) -> None:
        r = self.r
        blocks = self.doc.section("uppdrag", f"Uppdrag {self.year}")
        rows, history_rows = [], []
        for a in self.assignments:
            code = a["code"]
            versions = [f for f in r.facts(f"assignment|{code}") if f.valid_from <= self.end]
            withdrawals = [f for f in r.facts(f"withdrawal|{code}") if f.valid_from <= self.end]
            statuses = [f for f in r.facts(f"status|{code}") if f.value["period"][:4] <= str(self.year)]
            merged: dict = {}
            for i, fact in enumerate(versions):
                merged.update({k: v for k, v in fact.value.items() if v is not None})
                self.organs.add(fact.value["decision"]["body"])
                changes = [f"{label}: {fact.value[k]}" for k, label in (("title", "Titel"), ("due", "Tidpunkt"),
                                                                        ("description", "Beskrivning"))
                           if fact.value.get(k) is not None]
                history_rows.append({"code": code, **_decision_columns(fact.value["decision"]),
                                     "event": "Uppdrag givet" if i == 0 else "Uppdrag reviderat",
                                     "content": ". ".join(changes) if i else fact.value.get("title"),
                                     "position": self.cite(fact)})
            for fact in withdrawals:
                self.organs.add(fact.value["decision"]["body"])
                history_rows.append({"code": code, **_decision_columns(fact.value["decision"]),
                                     "event": "Uppdrag återkallat", "content": fact.value.get("reason"),
                                     "position": self.cite(fact)})
            for fact in statuses:
                v = fact.value
                history_rows.append({"code": code, "date": v.get("reported_on"), "organ": a["to_body"],
                                     "event": f"Status {period_label(v['period'])}: {STATUS_SV.get(v['status'])}",
                                     "content": v.get("comment"), "position": self.cite(fact),
                                     "status_of": (v["period"], STATUS_SV.get(v["status"], v["status"]))})
            status = r.status_at(code, str(self.year))
            self.organs.add(a["to_body"])
            rows.append({"code": code, "title": merged.get("title"), "given_by": a["decision"]["body"],
                         "to_body": a["to_body"], "goal": a.get("goal"), "due": merged.get("due"),
                         "decision": decision_ref(a["decision"]), "revisions": len(versions) - 1,
                         "state": "Återkallat" if withdrawals else "Aktivt",
                         "status": STATUS_SV.get(status.value["status"]) if status else "Ingen status rapporterad"})
        history_rows.sort(key=lambda row: (row["code"], row["date"] or "", row["position"]))
        blocks.append(self.doc.table(
            "uppdrag", f"Uppdrag under {self.year}",
            [("code", "Kod", CODE), ("title", "Uppdrag", TEXT), ("given_by", "Givet av", CODE),
             ("to_body", "Mottagare", CODE), ("goal", "Inriktningsmål", CODE, {"detail": True}),
             ("due", "Tidpunkt", DATE), ("decision", "Beslut", TEXT, {"detail": True}),
             ("revisions", "Revideringar", NUMBER), ("state", "Tillstånd vid årets slut", TEXT),
             ("status", "Status vid årets slut", TEXT)],
            rows, empty=f"Nämnden hade inga uppdrag under {self.year}."))
        blocks.append(self.doc.table(
            "uppdrag_historik", "Uppdragens beslut, revideringar och statusrapporter",
            [("code", "Uppdrag", CODE), *DECISION_COLUMNS, ("event", "Händelse", TEXT), ("content", "Innehåll", TEXT),
             ("position", "Post", POSITION)],
            history_rows, empty="Inga beslut eller statusrapporter.",
            compact=([("code", "Uppdrag", CODE), *DECISION_COLUMNS, ("event", "Händelse", TEXT),
                      ("content", "Innehåll", TEXT), ("position", "Poster", TEXT)], _statuses_per_year(history_rows),
                     "I PDF-versionen är statusrapporterna sammanfattade per uppdrag och år: varje rapporterad status "
                     "per period, kommentarerna och posterna. HTML- och CSV-versionerna har en rad per rapport med "
                     "datum.")))

    # follow-up

    def _economy(self) -> None:
        r = self.r
        blocks = self.doc.section("ekonomi", f"Ekonomisk uppföljning {self.year}")
        reports = sorted((f for (b, p, area), f in r.financial.items() if b == self.code and not area
                          and p[:4] == str(self.year)), key=lambda f: period_key(f.value["period"]))
        rows = []
        for fact in reports:
            v = fact.value
            months = period_months(v["period"])
            frame = r.frame_on(self.code, self.year, period_end(v["period"]))
            if frame is None:
                frame = (r.frame(self.code, self.year) or {}).get("amount_sek")
            rows.append({"period": period_label(v["period"]), "reported_on": v.get("reported_on"), "frame": frame,
                         "budget_to_date": _share(frame, months) if frame is not None else None,
                         "outcome": v.get("outcome_sek"), "forecast": v.get("forecast_sek"),
                         "deviation": _diff(frame, v.get("forecast_sek")),
                         "over": frame is not None and v.get("forecast_sek") is not None and v["forecast_sek"] > frame,
                         "position": self.cite(fact)})
        self.economy_rows = rows
        if not rows:
            blocks.append(_text(f"Ingen ekonomisk uppföljning för {self.year} är rapporterad."))
        else:
            last = reports[-1].value
            if last["period"] == str(self.year):
                frame = rows[-1]["frame"]
                blocks.append(_text(
                    f"Bokslut {self.year}: utfall {format_sek(last.get('outcome_sek'))} mot ram {format_sek(frame)}, "
                    f"avvikelse {format_sek(_diff(frame, last.get('outcome_sek')), signed=True)}."))
            else:
                blocks.append(_text(
                    f"Senaste uppföljning ({period_label(last['period'])}): prognos för helåret "
                    f"{format_sek(last.get('forecast_sek'))} mot ram {format_sek(rows[-1]['frame'])}."))
        blocks.append(self.doc.table(
            "ekonomi_perioder", f"Utfall och prognos per period {self.year}",
            [("period", "Period", TEXT), ("reported_on", "Rapporterad", DATE), ("frame", "Ram", SEK),
             ("budget_to_date", "Budget t.o.m. perioden", SEK), ("outcome", "Utfall t.o.m. perioden", SEK),
             ("forecast", "Prognos helår", SEK), ("deviation", "Avvikelse", SEK_SIGNED),
             ("over", "Prognos över ram", YESNO, {"detail": True}), ("position", "Post", POSITION)],
            rows, empty=f"Ingen ekonomisk uppföljning för {self.year} är rapporterad.",
            note="Budget t.o.m. perioden är ramen fördelad jämnt över årets månader. "
                 "Avvikelse = ram − prognos; en negativ avvikelse betyder att prognosen överstiger ramen."))
        areas = sorted((f for (b, p, area), f in r.financial.items() if b == self.code and area
                        and p[:4] == str(self.year)), key=lambda f: (period_key(f.value["period"]), f.value["area"]))
        if areas:
            names = {a["code"]: a["name"] for a in self.body["areas"]}
            blocks.append(self.doc.table(
                "ekonomi_omraden", f"Utfall och prognos per verksamhetsområde {self.year}",
                [("period", "Period", TEXT), ("area", "Verksamhetsområde", TEXT), ("outcome", "Utfall", SEK),
                 ("forecast", "Prognos helår", SEK), ("position", "Post", POSITION)],
                [{"period": period_label(f.value["period"]), "area": names.get(f.value["area"], f.value["area"]),
                  "outcome": f.value.get("outcome_sek"), "forecast": f.value.get("forecast_sek"),
                  "position": self.cite(f)} for f in areas],
                compact=([("period", "Period", TEXT),
                          ("areas", "Verksamhetsområde: utfall / prognos helår (kr)", LINES),
                          ("positions", "Poster", TEXT)], _areas_per_period(areas, names),
                         "I PDF-versionen en rad per period; HTML- och CSV-versionerna har en rad per "
                         "verksamhetsområde och period.")))
        if rows:
            labels = [row["period"] for row in rows]
            blocks.append(self.doc.chart({
                "id": "ekonomi_budget_utfall", "type": "bar", "unit": "kr",
                "title": f"Budget och utfall t.o.m. perioden {self.year}",
                "description": "Ramen fördelad jämnt över månaderna jämförd med redovisat utfall, per period.",
                "categories": labels,
                "series": [{"name": "Budget t.o.m. perioden", "values": [row["budget_to_date"] for row in rows]},
                           {"name": "Utfall t.o.m. perioden", "values": [row["outcome"] for row in rows]}]}))
            blocks.append(self.doc.chart({
                "id": "ekonomi_prognos_ram", "type": "line", "unit": "kr",
                "title": f"Prognos för helåret och ram {self.year}",
                "description": "Årsprognosen vid varje uppföljning jämförd med ramen vid periodens slut.",
                "categories": labels,
                "series": [{"name": "Ram", "values": [row["frame"] for row in rows]},
                           {"name": "Prognos helår", "values": [row["forecast"] for row in rows]}]}))

    def _indicators_and_assessments(self) -> None:
        r = self.r
        blocks = self.doc.section("maluppfyllelse", f"Indikatorutfall och måluppfyllelse {self.year}")
        indicators = sorted({row["indicator"] for row in self.target_rows})
        outcome_rows = []
        for (indicator, period, body), fact in sorted(r.outcomes.items(),
                                                      key=lambda item: (item[0][0], period_key(item[0][1]),
                                                                        item[0][2])):
            if indicator in indicators and period[:4] == str(self.year) and body in ("", self.code):
                outcome_rows.append({"indicator": indicator, "indicator_name": r.indicator_name(indicator),
                                     "period": period_label(period),
                                     "scope": "Nämnden" if body else "Hela kommunen",
                                     "value": fact.value["value"], "unit": r.unit(indicator),
                                     "reported_on": fact.value.get("reported_on"), "position": self.cite(fact)})
        blocks.append(self.doc.table(
            "indikatorutfall", f"Indikatorutfall {self.year}",
            [("indicator", "Kod", CODE), ("indicator_name", "Indikator", TEXT), ("period", "Period", TEXT),
             ("scope", "Avser", TEXT), ("value", "Utfall", NUMBER, {"unit_key": "unit"}),
             ("unit", "Enhet", TEXT, {"detail": True}), ("reported_on", "Rapporterad", DATE),
             ("position", "Post", POSITION)],
            outcome_rows, empty=f"Inga indikatorutfall för {self.year} är rapporterade."))

        subjects = [("goal", c, r.goals[c]["title"]) for c in self.goal_codes if c in r.goals]
        subjects += [("result", res["code"], res["title"]) for res in self.results]
        subjects += [("assignment", a["code"], a["title"]) for a in self.assignments]
        rows = []
        for kind, code, title in subjects:
            found = sorted((f for (s, p), f in r.assessments.items() if s == f"{kind}:{code}"
                            and p[:4] == str(self.year)), key=lambda f: period_key(f.value["period"]))
            for fact in found:
                v = fact.value
                rows.append({"subject": f"{SUBJECT_SV[kind]} {code}: {title}", "title": title,
                             "period": period_label(v["period"]),
                             "attainment": ATTAINMENT_SV.get(v["attainment"], v["attainment"]),
                             "analysis": v.get("analysis"), "internal": v.get("internal_efficiency"),
                             "external": v.get("external_efficiency"), "reported_on": v.get("reported_on"),
                             "position": self.cite(fact)})
        blocks.append(self.doc.table(
            "bedomningar", f"Bedömd måluppfyllelse {self.year} med analys av inre och yttre effektivitet",
            [("subject", "Avser", TEXT), ("title", "Mål, resultat eller uppdrag", TEXT, {"detail": True}),
             ("period", "Period", TEXT), ("attainment", "Måluppfyllelse", TEXT), ("analysis", "Analys", TEXT),
             ("internal", "Inre effektivitet", TEXT), ("external", "Yttre effektivitet", TEXT),
             ("reported_on", "Rapporterad", DATE, {"detail": True}), ("position", "Post", POSITION)],
            rows, empty=f"Ingen måluppfyllelse för {self.year} är bedömd."))

    def _measures(self) -> None:
        blocks = self.doc.section("atgarder", f"Åtgärder {self.year}")
        measures = self.r.measures.get((self.code, self.year), [])
        rows = []
        for fact in measures:
            v = fact.value
            self.organs.add(v["decision"]["body"])
            rows.append({**_decision_columns(v["decision"]), "description": v.get("description"),
                         "amount": v.get("amount_sek"), "position": self.cite(fact)})
        over = [row for row in self.economy_rows if row["over"]]
        if over and not measures:
            blocks.append(_notice(
                f"Prognosen översteg ramen i {_series(row['period'] for row in over)} och nämnden har inte "
                f"beslutat om några åtgärder för {self.year}. Enligt styrmodellen ska nämnden besluta om åtgärder "
                "när prognosen visar att ramen inte håller."))
        elif over:
            first = measures[0].value["decision"]
            blocks.append(_text(
                f"Prognosen översteg ramen i {_series(row['period'] for row in over)}. Nämnden beslutade om "
                f"åtgärder {decision_ref(first)}."))
        blocks.append(self.doc.table(
            "atgarder", f"Beslutade åtgärder {self.year}",
            [*DECISION_COLUMNS, ("description", "Åtgärd", TEXT), ("amount", "Belopp", SEK),
             ("position", "Post", POSITION)],
            rows, empty=f"Nämnden har inte beslutat om några åtgärder för {self.year}."))

    def _discharge(self) -> None:
        blocks = self.doc.section("ansvarsprovning", f"Revision och ansvarsprövning {self.year}")
        audit = self.r.facts(f"audit_report|{self.code}|{self.year}")
        decided = self.r.facts(f"discharge|{self.code}|{self.year}")
        as_of = self.r.as_of.isoformat()
        if audit:
            v = audit[-1].value
            self.cite(audit[-1])
            blocks.append(_facts(
                ("Revisionsberättelse lämnad", v.get("submitted_on"), DATE),
                ("Revisorernas bedömning", RECOMMENDATION_SV.get(v["recommendation"], v["recommendation"]), TEXT),
                ("Revisorernas anmärkningar och påpekanden", v.get("remarks") or DASH, TEXT)))
        else:
            blocks.append(_text(f"Revisorerna har inte lämnat någon revisionsberättelse för {self.year} "
                                f"(per {as_of})."))
        if decided:
            v = decided[-1].value
            self.cite(decided[-1])
            self.organs.add(v["decision"]["body"])
            blocks.append(_facts(
                ("Fullmäktiges beslut", "Ansvarsfrihet beviljas" if v["granted"] else "Ansvarsfrihet vägras", TEXT),
                ("Beslut", decision_ref(v["decision"]), TEXT),
                ("Fullmäktiges anmärkning", v.get("remark") or DASH, TEXT)))
        else:
            blocks.append(_text(f"Kommunfullmäktige har inte beslutat om ansvarsfrihet för {self.year} "
                                f"(per {as_of})."))

    # every decision

    def _timeline(self) -> None:
        r = self.r
        blocks = self.doc.section("beslut", "Beslut som rör nämnden")
        assignments = {a["code"] for a in self.assignments}
        results = {res["code"] for res in self.results}
        subjects = [f"assignment:{code}" for code in assignments] + [f"result:{code}" for code in results]
        entries = {e["position"]: e for e in r.decisions(self.cited, self.code, subjects, self.start)}
        chosen = set()
        for position in sorted(entries):
            entry = entries[position]
            retracted = entry.get("retracted_by") is not None and entry["retracted_by"] <= r.upto
            if retracted or not (entry.get("decision") or entry["type"] == "AuditReportSubmitted"):
                continue
            decided = _entry_date(entry)
            if decided > r.as_of:
                continue
            if position in self.cited or (self.start <= decided <= self.end
                                          and _concerns(entry, self.code, assignments, results)):
                chosen.add(position)
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for position in sorted(chosen):
            entry = entries[position]
            decision = entry.get("decision") or {}
            if decision:
                key = (decision.get("date"), decision.get("body"), decision.get("paragraph") or "",
                       decision.get("registry_number") or "", decision.get("delegation") or "")
            else:
                key = (_entry_date(entry).isoformat(), AUDITORS, "", "", str(position))
            groups[key].append(entry)
        rows = []
        for (date, organ, paragraph, registry, _), entries in groups.items():
            self.organs.add(organ)
            positions = [e["position"] for e in entries]
            rows.append({"date": date, "organ": organ, "paragraph": paragraph or None,
                         "registry_number": registry or None,
                         "matter": [_describe(e, r) for e in entries],
                         "positions": _positions_text(positions), "_sort": (date, _paragraph_number(paragraph),
                                                                            organ, positions[0])})
        rows.sort(key=lambda row: row.pop("_sort"))
        self.decision_rows = rows
        blocks.append(_text(
            "Alla beslut som underlaget bygger på, och alla beslut under året som fattats av nämnden eller "
            "rör den, i datumordning. Poster är positioner i kommunens liggare."))
        blocks.append(self.doc.table(
            "beslut", "Beslut som rör nämnden",
            [*DECISION_COLUMNS, ("matter", "Ärende", LINES), ("positions", "Poster", TEXT)],
            rows, empty="Inga beslut."))

    def _abbreviations(self) -> None:
        blocks = self.doc.section("forkortningar", "Förkortningar")
        rows = []
        for code in sorted(o for o in self.organs if o):
            body = self.r.bodies.get(code)
            if body is not None:
                rows.append({"code": code, "name": body["name"]})
        blocks.append(self.doc.table("forkortningar", "Organ som nämns i underlaget",
                                     [("code", "Förkortning", CODE), ("name", "Organ", TEXT)], rows))


def _concerns(entry: dict, body: str, assignments: set[str], results: set[str]) -> bool:
    """Whether an entry is by or about the body, or about one of its uppdrag or results."""
    data, decision = entry.get("data") or {}, entry.get("decision") or {}
    if body in (decision.get("body"), data.get("body"), data.get("to_body")):
        return True
    return data.get("assignment") in assignments or data.get("result") in results


def _statuses_per_year(history_rows: list[dict]) -> list[dict]:
    """The uppdrag history with each uppdrag's consecutive status reports of a year in one row: every status
    by period (`mars 2024: Pågår ×2, Slutfört`), the distinct comments and every position."""
    rows: list[dict] = []
    for row in history_rows:
        if row.get("status_of") is None:
            rows.append(row)
            continue
        period, status = row["status_of"]
        last = rows[-1] if rows else None
        if last is None or last.get("reports") is None or last["group"] != (row["code"], period[:4]):
            last = {"code": row["code"], "group": (row["code"], period[:4]), "organ": row["organ"],
                    "first": row["date"], "reports": [], "comments": [], "positions": []}
            rows.append(last)
        last["reports"].append((period_label(period), status))
        last["last"] = row["date"]
        last["positions"].append(row["position"])
        if row.get("content") and row["content"] not in last["comments"]:
            last["comments"].append(row["content"])
    for row in rows:
        reports = row.pop("reports", None)
        if reports is None:
            continue
        by_period: dict[str, list[str]] = defaultdict(list)
        for label, status in reports:
            by_period[label].append(status)
        row["date"] = row["first"] if row["first"] == row["last"] else f"{row['first']} {DASH} {row['last']}"
        row["event"] = f"Statusrapporter {row['group'][1]} ({len(reports)})"
        row["content"] = "; ".join(f"{label}: " + ", ".join(_counted(statuses))
                                   for label, statuses in by_period.items())
        if row["comments"]:
            row["content"] += ". Kommentar: " + " / ".join(row["comments"])
        row["position"] = _positions_text(row["positions"])
    return rows


def _counted(items: list[str]) -> list[str]:
    """`[a, a, b]` -> `[a ×2, b]`, in order of first appearance."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return [f"{item} ×{n}" if n > 1 else item for item, n in counts.items()]


def _targets_per_indicator(history_rows: list[dict]) -> list[dict]:
    """The målvärde decisions with each målvärde's decisions, oldest first, in one row."""
    rows: dict[tuple[str, str], dict] = {}
    for row in history_rows:
        target = rows.setdefault((row["owner"], row["indicator"]), {
            "owner": row["owner"], "indicator": row["indicator"], "decisions": [], "positions": []})
        target["decisions"].append(f"{format_number(row['value'])}: {_decision_text(row)}"
                                   + (" (gäller)" if row["state"] == "Gäller" else ""))
        target["positions"].append(row["position"])
    return [{**row, "positions": _positions_text(row["positions"])} for row in rows.values()]


def _areas_per_period(facts: list[Fact], names: dict[str, str]) -> list[dict]:
    """The follow-up per verksamhetsområde with one row per period (the facts come sorted by period)."""
    rows: list[dict] = []
    for fact in facts:
        v = fact.value
        label = period_label(v["period"])
        if not rows or rows[-1]["period"] != label:
            rows.append({"period": label, "areas": [], "positions": []})
        rows[-1]["areas"].append(f"{names.get(v['area'], v['area'])}: {format_number(v.get('outcome_sek'), decimals=0)}"
                                 f" / {format_number(v.get('forecast_sek'), decimals=0)}")
        rows[-1]["positions"].append(fact.position)
    return [{**row, "positions": _positions_text(row["positions"])} for row in rows]


def _series(items) -> str:
    """`a`, `a och b`, `a, b och c`."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1]


def _entry_date(entry: dict) -> dt.date:
    decision = entry.get("decision")
    if decision:
        return dt.date.fromisoformat(decision["date"])
    data = entry.get("data") or {}
    for name in ("reported_on", "submitted_on"):
        if data.get(name):
            return dt.date.fromisoformat(data[name])
    return dt.date(1, 1, 1)


def _paragraph_number(paragraph: str) -> int:
    digits = "".join(ch for ch in paragraph or "" if ch.isdigit())
    return int(digits) if digits else 0


def _positions_text(positions: list[int]) -> str:
    """`[4, 5, 6, 9]` -> `4–6, 9`."""
    runs: list[list[int]] = []
    for p in sorted(positions):
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}{DASH}{run[-1]}" for run in runs)


def _describe(entry: dict, r: _Reader) -> str:
    """What one ledger entry decided, in Swedish."""
    d, kind = entry.get("data") or {}, entry["type"]
    areas = {}
    if d.get("body") in r.bodies:
        areas = {a["code"]: a["name"] for a in r.bodies[d["body"]]["areas"]}
    text = {
        "BodyEstablished": lambda: f"{d.get('name')} ({d.get('code')}) inrättas",
        "ActivityAreaAdded": lambda: f"Verksamhetsområde {d.get('name')} ({d.get('code')}) inrättas",
        "FrameSet": lambda: f"Ram {d.get('year')} fastställs till {format_sek(d.get('amount_sek'))} ({d.get('plan')})"
        + "".join(f", varav {e['purpose']} {format_sek(e['amount_sek'])}" for e in d.get("earmarks") or []),
        "FrameAdjusted": lambda: f"Ramjustering {d.get('year')}: {format_sek(d.get('delta_sek'), signed=True)}. "
        f"{d.get('reason') or ''}".strip(),
        "AllocationSet": lambda: f"Detaljbudget {d.get('year')}, {areas.get(d.get('area'), d.get('area'))}: "
        f"{format_sek(d.get('amount_sek'))}",
        "OperationalPlanAdopted": lambda: f"Verksamhetsplan med detaljbudget {d.get('year')} antas"
        + (" (för sent)" if d.get("late") else ""),
        "BudgetReallocated": lambda: f"Omdisposition {d.get('year')}: {format_sek(d.get('amount_sek'))} från "
        f"{areas.get(d.get('from_area'), d.get('from_area'))} till {areas.get(d.get('to_area'), d.get('to_area'))}",
        "MeasureDecided": lambda: f"Åtgärder {d.get('year')}"
        + (f" ({format_sek(d['amount_sek'])})" if d.get("amount_sek") is not None else "")
        + f": {d.get('description')}",
        "ResultDefined": lambda: f"{RESULT_KIND_SV.get(d.get('kind'), 'Resultat')} {d.get('code')}: {d.get('title')}",
        "ResultTargetValueFixed": lambda: f"Målvärde {d.get('year')} för {d.get('result')} ({d.get('indicator')}): "
        f"{format_number(d.get('value'))}",
        "TargetValueFixed": lambda: f"Målvärde {d.get('year')} för {d.get('goal')} ({d.get('indicator')}): "
        f"{format_number(d.get('value'))}",
        "StrategicGoalEstablished": lambda: f"Inriktningsmål {d.get('code')}: {d.get('title')}",
        "StrategicGoalRevised": lambda: f"Inriktningsmål {d.get('goal')} revideras",
        "AssignmentIssued": lambda: f"Uppdrag {d.get('code')} till {d.get('to_body')}: {d.get('title')} "
        f"(senast {d.get('due')})",
        "AssignmentRevised": lambda: f"Uppdrag {d.get('assignment')} revideras"
        + (f", ny tidpunkt {d['due']}" if d.get("due") else ""),
        "AssignmentWithdrawn": lambda: f"Uppdrag {d.get('assignment')} återkallas",
        "AuditReportSubmitted": lambda: f"Revisionsberättelse {d.get('year')}: "
        f"{RECOMMENDATION_SV.get(d.get('recommendation'), d.get('recommendation'))}",
        "DischargeDecided": lambda: f"Ansvarsfrihet {d.get('year')} "
        + ("beviljas" if d.get("granted") else "vägras"),
        "ReportAdopted": lambda: f"Rapport {d.get('kind')} {d.get('year')} behandlas",
    }.get(kind)
    return text() if text else kind


# --- interim and annual reports ------------------------------------------------------------------


class _Overview:
    """Delårsrapport (T1, T2) and årsredovisningens mål- och budgetavsnitt for the whole tenant."""

    def __init__(self, reader: _Reader, doc: _Document, year: int, period: str | None) -> None:
        self.r, self.doc, self.year, self.period = reader, doc, year, period
        self.report_period = f"{year}-{period}" if period else str(year)
        self.assessment_period = self.report_period
        self.end = period_end(self.report_period)
        self.start = dt.date(year, 1, 1)

    def build(self) -> None:
        self._about()
        self._economy()
        self._flags()
        self._goals()
        self._assignments()

    def _about(self) -> None:
        blocks = self.doc.section("om", "Om rapporten")
        scope = (f"perioden januari{DASH}{'april' if self.period == 'T1' else 'augusti'} {self.year}"
                 if self.period else f"hela {self.year}")
        blocks.append(_text(
            f"Rapporten omfattar {scope} för hela kommunen: ram, utfall, prognos och avvikelse per organ, "
            "målvärden och utfall per inriktningsmål, uppdragens status och organ vars prognos överstiger "
            "ramen utan att åtgärder har beslutats."))
        adoptions = self.r.adoptions.get((self.year, REPORT_KIND_OF[self.period]), [])
        if adoptions:
            blocks.append(_facts(("Behandlad", "; ".join(decision_ref(f.value["decision"]) for f in adoptions),
                                  TEXT)))
        else:
            blocks.append(_facts(("Behandlad", f"Inte behandlad av kommunstyrelsen eller fullmäktige "
                                               f"(per {self.r.as_of.isoformat()})", TEXT)))

    def _economy(self) -> None:
        r = self.r
        blocks = self.doc.section("ekonomi", f"Ekonomi per organ, {period_label(self.report_period)}")
        rows = []
        for code in sorted(r.bodies):
            # The frame as decided by the period's end (a tilläggsanslag of the autumn is not T1's mandate);
            # the figures are those reported for the period, whenever reported up to as_of.
            frame = r.frame_on(code, self.year, min(self.end, r.as_of))
            if frame is None:
                continue
            report = r.financial_report(code, self.year, self.report_period)
            v = report.value if report else {}
            measures = r.measures.get((code, self.year), [])
            forecast = v.get("forecast_sek")
            over = forecast is not None and forecast > frame
            rows.append({"code": code, "name": r.bodies[code]["name"], "frame": frame,
                         "outcome": v.get("outcome_sek"), "forecast": forecast,
                         "deviation": _diff(frame, forecast),
                         "basis": (f"{period_label(v['period'])}, {v.get('reported_on')}" if report
                                   else "Ej rapporterat"),
                         "over": over, "measures": decision_ref(measures[0].value["decision"]) if measures else None,
                         "flagged": over and not measures,
                         "measure_amount": sum(f.value.get("amount_sek") or 0 for f in measures)})
        self.economy_rows = rows
        reported = [row for row in rows if row["forecast"] is not None]
        footer = [{"code": "Summa", "frame": sum(row["frame"] for row in rows),
                   "outcome": sum(row["outcome"] or 0 for row in reported),
                   "forecast": sum(row["forecast"] for row in reported),
                   "deviation": sum(row["deviation"] for row in reported),
                   "basis": f"{len(reported)} av {len(rows)} organ har rapporterat"}]
        if not rows:
            blocks.append(_text(f"Inga ramar för {self.year} är fastställda."))
        blocks.append(self.doc.table(
            "ekonomi", f"Ram, utfall, prognos och avvikelse per organ, {period_label(self.report_period)}",
            [("code", "Organ", CODE), ("name", "Namn", TEXT), ("frame", "Ram", SEK),
             ("outcome", "Utfall", SEK), ("forecast", "Prognos helår", SEK), ("deviation", "Avvikelse", SEK_SIGNED),
             ("basis", "Underlag", TEXT), ("measures", "Åtgärder", TEXT), ("flagged", "Flaggad", YESNO)],
            rows, footer=footer if rows else None,
            empty=f"Inga ramar för {self.year} är fastställda.",
            note="Ram inklusive ramjusteringar. Utfall till och med perioden. Avvikelse = ram − prognos; "
                 "summan av utfall, prognos och avvikelse avser de organ som har rapporterat."))
        if rows:
            blocks.append(self.doc.chart({
                "id": "ekonomi_organ", "type": "bar", "unit": "kr",
                "title": f"Ram och prognos per organ, {period_label(self.report_period)}",
                "description": "Varje organs ram jämförd med dess prognos för helåret.",
                "categories": [row["code"] for row in rows],
                "series": [{"name": "Ram", "values": [row["frame"] for row in rows]},
                           {"name": "Prognos helår", "values": [row["forecast"] for row in rows]}]}))

        adjustments, measures = [], []
        for code in sorted(r.bodies):
            for fact in r.facts(f"adjustment|{code}|{self.year}"):
                adjustments.append({"body": code, **_decision_columns(fact.value["decision"]),
                                    "amount": fact.value["delta_sek"], "reason": fact.value.get("reason")})
            for fact in r.measures.get((code, self.year), []):
                measures.append({"body": code, **_decision_columns(fact.value["decision"]),
                                 "description": fact.value.get("description"),
                                 "amount": fact.value.get("amount_sek")})
        blocks.append(self.doc.table(
            "ramjusteringar", f"Ramjusteringar {self.year}",
            [("body", "Organ", CODE), *DECIDED_BY_COLUMNS, ("amount", "Belopp", SEK_SIGNED), ("reason", "Skäl", TEXT)],
            adjustments, empty=f"Fullmäktige har inte justerat några ramar för {self.year}."))
        blocks.append(self.doc.table(
            "atgarder", f"Beslutade åtgärder {self.year}",
            [("body", "Organ", CODE), *DECIDED_BY_COLUMNS, ("description", "Åtgärd", TEXT), ("amount", "Belopp", SEK)],
            measures, empty=f"Inga åtgärder för {self.year} är beslutade."))

    def _flags(self) -> None:
        blocks = self.doc.section("flaggor", "Flaggade organ")
        flagged = [row for row in self.economy_rows if row["flagged"]]
        handled = [row for row in self.economy_rows if row["over"] and not row["flagged"]]
        if flagged:
            blocks.append(_notice(
                "Prognosen överstiger ramen och organet har inte beslutat om åtgärder för året: "
                + ", ".join(f"{row['name']} ({row['code']})" for row in flagged) + "."))
        else:
            blocks.append(_text("Inget organ har en prognos över ramen utan beslutade åtgärder."))
        for row in handled:
            blocks.append(_text(
                f"{row['name']} ({row['code']}): prognosen överstiger ramen med "
                f"{format_sek(-row['deviation'])}; åtgärder beslutade {row['measures']}."))
        blocks.append(self.doc.table(
            "flaggade", "Organ med prognos över ram utan beslutade åtgärder",
            [("code", "Organ", CODE), ("name", "Namn", TEXT), ("frame", "Ram", SEK), ("forecast", "Prognos helår", SEK),
             ("deviation", "Avvikelse", SEK_SIGNED), ("basis", "Underlag", TEXT)],
            flagged, empty="Inga flaggade organ."))

    def _goals(self) -> None:
        r = self.r
        blocks = self.doc.section("mal", f"Mål och målvärden {self.year}")
        previous = str(self.year - 1)
        goals = []
        for code in sorted(r.goals):
            term = r.terms.get(r.goals[code].get("term"))
            if term and not term["first_year"] <= self.year <= term["last_year"]:
                continue
            goals.append(r.goals[code])
        results = sorted((res for b in r.bodies.values() for res in b["results"]),
                         key=lambda res: (res.get("goal") or "", res["body"], res["code"]))

        def target_row(goal_code, level, owner, target, body, assessed) -> dict:
            indicator = target["indicator"]
            outcome = r.outcome(indicator, self.report_period, body)
            before = r.outcome(indicator, previous, body)
            value = outcome.value["value"] if outcome else None
            assessment = r.assessments.get((assessed, self.assessment_period))
            return {"goal": goal_code, "level": level, "owner": owner, "indicator": indicator,
                    "indicator_name": r.indicator_name(indicator), "unit": r.unit(indicator),
                    "target": target["value"], "outcome": value,
                    "previous": before.value["value"] if before else None,
                    "deviation": _diff(value, target["value"]), "reached": r.reached(indicator, target["value"], value),
                    "scope": (DASH if outcome is None else "Nämnden" if outcome.value.get("body")
                              else "Hela kommunen"),
                    "attainment": ATTAINMENT_SV.get(assessment.value["attainment"]) if assessment else None,
                    "direction": (r.indicators.get(indicator) or {}).get("direction", "increase")}

        rows, goal_rows = [], []
        for goal in goals:
            for target in goal["targets"]:
                if target["year"] == self.year:
                    rows.append(target_row(goal["code"], "KF", goal["code"], target, None, f"goal:{goal['code']}"))
            for res in results:
                if res.get("goal") != goal["code"]:
                    continue
                for target in res["targets"]:
                    if target["year"] == self.year:
                        rows.append(target_row(goal["code"], res["body"], res["code"], target, res["body"],
                                               f"result:{res['code']}"))
            assessment = r.assessments.get((f"goal:{goal['code']}", self.assessment_period))
            v = assessment.value if assessment else {}
            goal_rows.append({"code": goal["code"], "title": goal["title"],
                              "attainment": ATTAINMENT_SV.get(v.get("attainment")) if assessment else None,
                              "analysis": v.get("analysis"), "internal": v.get("internal_efficiency"),
                              "external": v.get("external_efficiency")})
        own_rows = []
        for res in results:
            if res.get("goal"):
                continue
            for target in res["targets"]:
                if target["year"] == self.year:
                    own_rows.append(target_row(None, res["body"], res["code"], target, res["body"],
                                               f"result:{res['code']}"))
        own_rows.sort(key=lambda row: (row["level"], row["owner"], row["indicator"]))

        label = period_label(self.report_period)
        blocks.append(self.doc.table(
            "inriktningsmal", f"Inriktningsmål och bedömd måluppfyllelse, {label}",
            [("code", "Kod", CODE), ("title", "Inriktningsmål", TEXT), ("attainment", "Måluppfyllelse", TEXT),
             ("analysis", "Analys", TEXT), ("internal", "Inre effektivitet", TEXT),
             ("external", "Yttre effektivitet", TEXT)],
            goal_rows, empty=f"Inga inriktningsmål gäller {self.year}."))
        target_columns = [
            ("owner", "Mål/resultat", CODE), ("level", "Beslutat av", CODE),
            ("indicator", "Indikatorkod", CODE, {"detail": True}), ("indicator_name", "Indikator", TEXT),
            ("unit", "Enhet", TEXT, {"detail": True}), ("target", "Målvärde", NUMBER, {"unit_key": "unit"}),
            ("outcome", "Utfall", NUMBER, {"unit_key": "unit"}), ("deviation", "Avvikelse", NUMBER_SIGNED),
            ("reached", "Nått", YESNO), ("scope", "Utfallet avser", TEXT),
            ("previous", f"Utfall {previous}", NUMBER, {"unit_key": "unit"}),
            ("attainment", "Måluppfyllelse", TEXT)]
        titles = {goal["code"]: f"{goal['code']} {goal['title']}" for goal in goals}
        blocks.append(self.doc.table(
            "malvarden", f"Målvärden {self.year} och utfall {label} per inriktningsmål",
            [("goal", "Inriktningsmål", CODE), *target_columns], rows, group=("goal", titles),
            empty=f"Inga målvärden för {self.year} är fastställda.",
            note="Fullmäktiges målvärden följs upp med kommunens utfall, nämndernas förväntade resultat med "
                 "nämndens eget utfall där det finns. Avvikelse = utfall − målvärde."))
        blocks.append(self.doc.table(
            "egna_resultat", f"Nämndernas egna resultat: målvärden {self.year} och utfall {label}",
            target_columns, own_rows,
            empty=f"Inga egna resultat med målvärden för {self.year}."))
        charted = [row for row in rows if row["level"] == "KF" and row["outcome"] is not None]
        if charted:
            blocks.append(self.doc.chart({
                "id": "malvarden_utfall", "type": "bullet",
                "title": f"Fullmäktiges målvärden och utfall, {label}",
                "description": f"Kommunens utfall jämfört med fullmäktiges målvärden för {self.year}.",
                "items": [{"label": f"{row['goal']} · {row['indicator']}", "target": row["target"],
                           "outcome": row["outcome"], "unit": row["unit"], "direction": row["direction"]}
                          for row in charted]}))
        else:
            blocks.append(_text(f"Inga utfall för fullmäktiges målvärden är rapporterade för {label}."))

    def _assignments(self) -> None:
        r = self.r
        blocks = self.doc.section("uppdrag", f"Uppdrag, {period_label(self.report_period)}")
        rows = []
        for code in sorted(r.assignments):
            a = r.assignments[code]
            if dt.date.fromisoformat(a["decision"]["date"]) > self.end:
                continue
            withdrawal = r.facts(f"withdrawal|{code}")
            if withdrawal and withdrawal[-1].valid_from < self.start:
                continue
            before = r.status_at(code, str(self.year - 1))
            if before and before.value["status"] in ("completed", "will_not_complete"):
                continue
            status = r.status_at(code, self.report_period)
            state = status.value["status"] if status else None
            overdue = (not withdrawal and a.get("due") is not None and a["due"] < self.end.isoformat()
                       and state not in ("completed", "will_not_complete"))
            rows.append({"code": code, "title": a["title"], "given_by": a["decision"]["body"], "to_body": a["to_body"],
                         "goal": a.get("goal"), "due": a.get("due"),
                         "state": (f"Återkallat {decision_ref(withdrawal[-1].value['decision'])}" if withdrawal
                                   else "Aktivt"),
                         "status": (f"Återkallat {decision_ref(withdrawal[-1].value['decision'])}" if withdrawal
                                    else STATUS_SV.get(state) if status else "Ingen status rapporterad"),
                         "status_period": period_label(status.value["period"]) if status else None,
                         "comment": status.value.get("comment") if status else None, "overdue": overdue})
        blocks.append(self.doc.table(
            "uppdrag", f"Uppdragens status, {period_label(self.report_period)}",
            [("code", "Kod", CODE), ("title", "Uppdrag", TEXT), ("given_by", "Givet av", CODE, {"detail": True}),
             ("to_body", "Mottagare", CODE), ("goal", "Inriktningsmål", CODE, {"detail": True}),
             ("due", "Tidpunkt", DATE), ("state", "Tillstånd", TEXT, {"detail": True}), ("status", "Status", TEXT),
             ("status_period", "Rapporterad för", TEXT), ("comment", "Kommentar", TEXT),
             ("overdue", "Försenat", YESNO)],
            rows, empty="Inga uppdrag."))
