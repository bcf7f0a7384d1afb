"""The registrar's forms: which fields each command takes, form strings to JSON types, errors in Swedish.

Validation is the API's own: the marshmallow schema of the command (web/api/schemas.py) loads the
converted form, and the same Governance method runs it. This module only says how a form maps onto
a command's body and path, and how the English messages of the schema and the domain read in Swedish.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.errors import DomainError
from web.ui import labels
from workers.formatting import format_number, format_sek

YEAR_MIN, YEAR_MAX = 1900, 2200


@dataclass(frozen=True)
class Field:
    """One input: `name` is its place in the command's JSON ("decision.body", "earmarks.0.purpose"),
    or `path` names the path parameter it fills instead (/goals/<code>/targets: path="code")."""

    name: str
    label: str
    kind: str = "text"  # text, code, textarea, int, decimal, date, select
    required: bool = False
    hint: str = ""
    options: str | None = None  # the option list to offer (see record.options_for)
    path: str | None = None
    blank: str = ""  # the empty option of a select that is optional
    missing: str = ""  # the message when a required field is left empty (else one made from the label)
    autocomplete: str = "off"

    @property
    def dom_name(self) -> str:
        return self.name

    @property
    def is_select(self) -> bool:
        return self.kind == "select"


@dataclass(frozen=True)
class FormSpec:
    slug: str
    title: str
    command: str
    intro: str
    fields: tuple[Field, ...]
    decided: bool = True  # takes the decision fields
    organ: str | None = None  # the chosen organ goes to the path ("body") or the data ("data")
    decision_default: str = "KF"  # "KF", or "organ": the chosen organ decides
    not_found_field: str | None = None  # where a 404-kind refusal (unknown code in the path) belongs
    panel: str | None = None  # extra context shown beside the form: "budget"
    group: str = ""
    button: str = "Registrera beslutet"

    def all_fields(self) -> tuple[Field, ...]:
        return self.fields + (DECISION_FIELDS if self.decided else ())

    def field(self, name: str) -> Field | None:
        return next((f for f in self.all_fields() if f.name == name), None)


DECISION_FIELDS = (
    Field("decision.body", "Beslutande organ", "select", required=True, options="deciders",
          missing="Välj vilket organ som fattade beslutet."),
    Field("decision.date", "Beslutsdatum", "date", required=True, hint="Sammanträdets datum."),
    Field("decision.paragraph", "Paragraf", required=True, hint="Paragrafen i protokollet, t.ex. §104.",
          missing="Ange paragrafen i protokollet, t.ex. §104."),
    Field("decision.registry_number", "Diarienummer", hint="T.ex. KS 2021/432."),
    Field("decision.effective_from", "Gäller från", "date",
          hint="Lämna tomt om beslutet gäller från beslutsdatum."),
)

EARMARK_FIELDS = tuple(
    f for i in (0, 1) for f in (
        Field(f"earmarks.{i}.purpose", f"Ändamål {i + 1}", hint="" if i else "T.ex. Lovskola och läxhjälp."),
        Field(f"earmarks.{i}.amount_sek", f"Belopp för ändamål {i + 1} (kr)", "int"),
    )
)
AMOUNT_HINT = "Hela kronor, t.ex. 4 500 000."

FORMS: tuple[FormSpec, ...] = (
    FormSpec(
        "malvarde", "Målvärde för inriktningsmål", "fix_goal_target",
        "Kommunfullmäktige fastställer målvärden per nyckeltal och år. Ett nytt målvärde för samma "
        "inriktningsmål, nyckeltal och år reviderar det tidigare.",
        (Field("goal", "Inriktningsmål", "select", required=True, options="goals", path="code"),
         Field("indicator", "Nyckeltal", "select", required=True, options="indicators"),
         Field("year", "År", "int", required=True, hint="T.ex. 2025."),
         Field("value", "Målvärde", "decimal", required=True, hint="Ett tal, t.ex. 85 eller 7,5.")),
        not_found_field="goal", group="Mål och uppdrag", button="Registrera målvärdet"),
    FormSpec(
        "uppdrag", "Riktat uppdrag", "issue_assignment",
        "Kommunfullmäktige ger riktade uppdrag till en nämnd; en nämnd kan ge uppdrag till sin egen förvaltning.",
        (Field("code", "Kod", "code", required=True, hint="Unik kod för uppdraget, t.ex. U2025-01."),
         Field("to_body", "Till organ", "select", required=True, options="bodies",
               missing="Välj vilket organ uppdraget ges till."),
         Field("goal", "Inriktningsmål", "select", options="goals", blank="Inget inriktningsmål"),
         Field("title", "Rubrik", required=True),
         Field("description", "Beskrivning", "textarea", required=True),
         Field("due", "Redovisas senast", "date", required=True, missing="Ange när uppdraget ska redovisas.")),
        group="Mål och uppdrag", button="Registrera uppdraget"),
    FormSpec(
        "uppdragsrevision", "Revidera uppdrag", "revise_assignment",
        "Ett uppdrag kan revideras under perioden: ny rubrik, beskrivning eller tid. Fyll bara i det som ändras. "
        "Revisionen beslutas av det organ som gav uppdraget, eller av kommunfullmäktige.",
        (Field("assignment", "Uppdrag", "select", required=True, options="assignments", path="code"),
         Field("title", "Ny rubrik"),
         Field("description", "Ny beskrivning", "textarea"),
         Field("due", "Nytt datum för redovisning", "date")),
        not_found_field="assignment", group="Mål och uppdrag", button="Registrera revisionen"),
    FormSpec(
        "ram", "Ekonomisk ram", "set_frame",
        "Kommunfullmäktige fastställer varje nämnds ram i mål- och resursplanen. En del av ramen kan bindas "
        "till särskilda ändamål.",
        (Field("plan", "Mål- och resursplan", "select", required=True, options="plans", path="code"),
         Field("body", "Organ", "select", required=True, options="bodies"),
         Field("year", "År", "int", required=True, hint="Ett av planens tre år."),
         Field("amount_sek", "Ram (kr)", "int", required=True, hint=AMOUNT_HINT),
         *EARMARK_FIELDS),
        not_found_field="plan", group="Ekonomi", button="Registrera ramen"),
    FormSpec(
        "budgetrad", "Rad i detaljbudget", "set_allocation",
        "Nämnden fördelar sin ram på verksamhetsområden. En ny rad för samma område ersätter den tidigare. "
        "Efter att detaljbudgeten antagits ändras den genom omdisposition.",
        (Field("year", "År", "int", required=True, path="year", hint="Budgetåret, t.ex. 2025."),
         Field("area", "Verksamhetsområde", "select", required=True, options="areas"),
         Field("amount_sek", "Belopp (kr)", "int", required=True, hint=AMOUNT_HINT),
         *EARMARK_FIELDS[:2]),
        organ="path", decision_default="organ", panel="budget", group="Ekonomi", button="Registrera raden"),
    FormSpec(
        "detaljbudget", "Anta verksamhetsplan med detaljbudget", "adopt_budget",
        "Nämnden antar verksamhetsplanen med detaljbudget. Raderna måste summera till ramen och pengar till "
        "särskilda ändamål måste vara fördelade till sitt ändamål.",
        (Field("year", "År", "int", required=True, path="year", hint="Budgetåret, t.ex. 2025."),),
        organ="path", decision_default="organ", panel="budget", group="Ekonomi",
        button="Registrera antagandet"),
    FormSpec(
        "omdisposition", "Omdisposition", "reallocate",
        "Under året får nämnden flytta pengar mellan sina verksamhetsområden upp till kommunens gräns för "
        "större förändringar. Större belopp, eller pengar till särskilda ändamål, kräver beslut av "
        "kommunfullmäktige.",
        (Field("year", "År", "int", required=True, path="year", hint="Budgetåret, t.ex. 2025."),
         Field("from_area", "Från verksamhetsområde", "select", required=True, options="areas"),
         Field("to_area", "Till verksamhetsområde", "select", required=True, options="areas"),
         Field("amount_sek", "Belopp (kr)", "int", required=True, hint=AMOUNT_HINT),
         Field("reason", "Skäl", "textarea", required=True)),
        organ="path", decision_default="organ", panel="budget", group="Ekonomi",
        button="Registrera omdispositionen"),
    FormSpec(
        "uppfoljning", "Ekonomisk uppföljning", "report_financial",
        "Utfall hittills under året och prognos för helåret, för hela nämnden eller ett verksamhetsområde.",
        (Field("period", "Period", "text", required=True,
               hint="En månad (2025-04), delår (2025-T1 eller 2025-T2) eller helår (2025)."),
         Field("area", "Verksamhetsområde", "select", options="areas", blank="Hela nämnden"),
         Field("outcome_sek", "Utfall hittills (kr)", "int", required=True, hint=AMOUNT_HINT),
         Field("forecast_sek", "Prognos för helåret (kr)", "int", required=True, hint=AMOUNT_HINT),
         Field("reported_on", "Rapporterat den", "date", required=True,
               missing="Ange vilket datum uppföljningen rapporterades.")),
        decided=False, organ="data", group="Uppföljning", button="Registrera uppföljningen"),
)
FORMS_BY_SLUG = {spec.slug: spec for spec in FORMS}


# --- form strings to the JSON the API takes ---------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def to_json_value(kind: str, raw: str):
    """A form string as the JSON value the API would receive; what does not convert is passed on as
    text, so that the schema reports it exactly as it would for the API."""
    text = raw.strip()
    if kind == "int":
        compact = _SPACES.sub("", text).replace("\u2212", "-")
        compact = re.sub(r"(?i)kr$", "", compact)
        return int(compact) if re.fullmatch(r"-?\d+", compact) else text
    if kind == "decimal":
        compact = _SPACES.sub("", text).replace("\u2212", "-").replace(",", ".")
        try:
            number = Decimal(compact)
        except InvalidOperation:
            return text
        return number if number.is_finite() else text
    if kind == "textarea":
        return raw.strip()
    return text


def build_request(spec: FormSpec, form: dict, organ: str | None) -> tuple[dict, dict, dict]:
    """(json body, path values, errors of the path fields) from the submitted form."""
    data: dict = {}
    path: dict = {}
    errors: dict[str, str] = {}
    for f in spec.all_fields():
        raw = form.get(f.name, "")
        if f.path:
            value = to_json_value(f.kind, raw)
            if raw.strip() == "":
                errors[f.name] = required_message(f)
            elif f.kind == "int" and not (isinstance(value, int) and YEAR_MIN <= value <= YEAR_MAX):
                errors[f.name] = f"Ange ett årtal från {YEAR_MIN} till {YEAR_MAX}, t.ex. 2025."
            else:
                path[f.path] = value
            continue
        if raw.strip() == "":
            continue  # left out: the schema's default applies, or it says the field is missing
        _put(data, f.name, to_json_value(f.kind, raw))
    if "earmarks" in data:  # a list of the rows filled in
        rows = data["earmarks"]
        data["earmarks"] = [rows[i] for i in sorted(rows)]
    if spec.organ == "path":
        path["body"] = organ
    elif spec.organ == "data":
        data["body"] = organ
    return data, path, errors


def _put(target: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        key = int(part) if part.isdigit() else part
        target = target.setdefault(key, {})
    target[parts[-1]] = value


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested errors as {"decision.paragraph": [...], "earmarks.0.amount_sek": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            flat.update(flatten(value, f"{prefix}.{i}"))
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


# --- Swedish messages ---------------------------------------------------------------------------


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]


def required_message(f: Field) -> str:
    if f.missing:
        return f.missing
    if f.is_select:
        return f"Välj {_lower(f.label)}."
    return f"Ange {_lower(f.label)}." if f.kind == "date" else f"Fyll i {_unit_less(f.label)}."


def _unit_less(label: str) -> str:
    """"Prognos för helåret (kr)" as a message names it: "Fyll i prognos för helåret." """
    return _lower(label).removesuffix(" (kr)")


def field_label(name: str, spec: FormSpec | None = None) -> str:
    found = spec.field(name) if spec else None
    if found:
        return found.label
    return labels.FIELDS.get(name, name)


# (English message of the schema, Swedish message); {0}, {1} are the pattern's groups.
VALIDATION_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"Not a valid integer\.", "Ange ett heltal utan decimaler."),
    (r"Not a valid number\.", "Ange ett tal, t.ex. 85 eller 7,5."),
    (r"Not a number\.", "Ange ett tal, t.ex. 85 eller 7,5."),
    (r"Not a date of the form YYYY-MM-DD\.", "Ange ett datum som ÅÅÅÅ-MM-DD, t.ex. 2025-03-31."),
    (r"A revision changes at least one field\.", "Ändra minst ett av fälten."),
    (r"Special numeric values .*", "Ange ett tal, t.ex. 85 eller 7,5."),
    (r"Not a valid date\.", "Ange ett datum som ÅÅÅÅ-MM-DD, t.ex. 2025-03-31."),
    (r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.", "Ange ett värde från {0} till {1}."),
    (r"Must be greater than or equal to (\S+)\.", "Värdet måste vara minst {0}."),
    (r"Longer than maximum length (\d+)\.", "Texten får vara högst {0} tecken."),
    (r"Length must be between (\d+) and (\d+)\.", "Texten ska vara {0} till {1} tecken."),
    (r"1 to 40 letters, digits, .*", "Ange 1–40 tecken: bokstäver a–z, siffror, bindestreck, understreck eller "
                                     "punkt, utan mellanslag."),
    (r"A year \(2024\), a month \(2024-04\) or T1/T2\.", "Ange ett år (2025), en månad (2025-04) eller en "
                                                          "delårsperiod (2025-T1 eller 2025-T2)."),
    (r"Must be one of: .*", "Välj ett av alternativen i listan."),
    (r"A meeting decision names its paragraph\.", "Ange paragrafen i protokollet, t.ex. §104."),
    (r"effective_from cannot be before the decision date\.", "Gäller från kan inte vara före beslutsdatum."),
    (r"A revision changes the title, the description or the due date\.",
     "Ändra minst en av rubrik, beskrivning och datum för redovisning."),
    (r"Unknown field\.", "Okänt fält."),
    (r"Not a valid string\.", "Ange text."),
    (r"Invalid input type\.", "Ogiltigt värde."),
)


def validation_message(message: str, f: Field | None, label: str) -> str:
    if message in ("Missing data for required field.", "Field may not be null.", ) or message.startswith(
            "Shorter than minimum length"):
        return required_message(f) if f else f"Fyll i {_unit_less(label)}."
    name = f.name if f else ""
    if message == "Not a valid integer." and name.endswith("_sek"):
        return "Ange ett belopp i hela kronor, t.ex. 4 500 000."
    if message == "Not a valid integer." and name.endswith("year"):
        return "Ange ett årtal med fyra siffror, t.ex. 2025."
    bounds = re.fullmatch(r"Must be greater than or equal to (-?\d+) and less than or equal to (-?\d+)\.", message)
    if bounds:  # written as the reader writes numbers: 1 000 000 000, and kronor as kronor
        low, high = (format_sek(int(b)) if name.endswith("_sek") else format_number(int(b)) for b in bounds.groups())
        return f"Ange ett värde från {low} till {high}."
    for pattern, swedish in VALIDATION_MESSAGES:
        match = re.fullmatch(pattern, message)
        if match:
            return swedish.format(*match.groups())
    return f"Kontrollera {_lower(label)}."


KIND_NAMES = {"indicator": "inget nyckeltal", "goal": "inget inriktningsmål", "body": "inget organ",
              "term": "ingen mandatperiod", "assignment": "inget uppdrag", "plan": "ingen mål- och resursplan",
              "result": "inget resultat", "document": "inget styrdokument", "body year": "inget budgetår"}


def _kr(number: str) -> str:
    return format_sek(int(number))


# Per error code: (English message pattern, Swedish message with {0}.. from the groups, field or None).
DOMAIN_MESSAGES: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "not_competent": (
        (r"Only Kommunfullmäktige may (.+); (\S+) may not\.",
         "Organet får inte fatta detta beslut: bara kommunfullmäktige får det, inte {1}.", "decision.body"),
        (r"Kommunfullmäktige may not delegate .*",
         "Organet får inte fatta detta beslut: kommunfullmäktige får inte delegera det.", "decision.body"),
        (r"(\S+) may not issue an uppdrag to (\S+): .*",
         "Organet får inte fatta detta beslut: {0} får inte ge uppdrag till {1}. Bara kommunfullmäktige, eller "
         "en nämnd till sin egen förvaltning, får ge uppdrag.", "decision.body"),
        (r"(\S+) may not revise an uppdrag given to (\S+): .*",
         "Organet får inte fatta detta beslut: {0} får inte ändra uppdrag till {1}. Bara kommunfullmäktige, eller "
         "en nämnd för sin egen förvaltning, får ändra uppdrag.", "decision.body"),
        (r"(\S+) may not withdraw an uppdrag given to (\S+): .*",
         "Organet får inte fatta detta beslut: {0} får inte återkalla uppdrag till {1}. Bara kommunfullmäktige, "
         "eller en nämnd för sin egen förvaltning, får återkalla uppdrag.", "decision.body"),
        (r"This is (\S+)'s own matter; (\S+) may not decide it\.",
         "Organet får inte fatta detta beslut: det är {0}s egen fråga och {1} får inte besluta om den.",
         "decision.body"),
        (r"Uppdrag (\S+) was issued by (\S+); (\S+) may not revise it\.",
         "Organet får inte fatta detta beslut: uppdrag {0} gavs av {1}, och {2} får inte ändra det.",
         "decision.body"),
        (r"Uppdrag (\S+) was issued by (\S+); (\S+) may not withdraw it\.",
         "Organet får inte fatta detta beslut: uppdrag {0} gavs av {1}, och {2} får inte återkalla det.",
         "decision.body"),
        (r"Only (\S+) or Kommunfullmäktige may reallocate .*",
         "Organet får inte fatta detta beslut: bara {0} eller kommunfullmäktige får omdisponera {0}s budget.",
         "decision.body"),
        (r"Only Kommunstyrelsen or Kommunfullmäktige may adopt .*",
         "Organet får inte fatta detta beslut: bara kommunstyrelsen eller kommunfullmäktige antar "
         "delårsrapporter och årsredovisning.", "decision.body"),
        (r".*", "Organet får inte fatta detta beslut.", "decision.body"),
    ),
    "needs_council_decision": (
        (r"Moving (\d+) kr exceeds (\d+) % of the frame \((\d+) kr\).*",
         "Omdispositionen är för stor för nämnden: {0} är mer än {1} % av ramen ({2}). En så stor förändring "
         "kräver beslut av kommunfullmäktige.", "amount_sek"),
        (r"Moving (\d+) kr brings (\S+)'s own reallocations in (\d+) to (\d+) kr, over (\d+) % of the frame "
         r"\((\d+) kr\).*",
         "Omdispositionen är för stor för nämnden: med den blir nämndens egna omdispositioner {2} sammanlagt {3}, "
         "mer än {4} % av ramen ({5}). En så stor förändring kräver beslut av kommunfullmäktige.", "amount_sek"),
        (r".*", "Förändringen kräver beslut av kommunfullmäktige.", "amount_sek"),
    ),
    "earmark_violation": (
        (r"The earmarks add up to more than the frame\.",
         "De särskilda ändamålen är tillsammans större än ramen.", "earmarks.0.amount_sek"),
        (r"The adjusted frame would be smaller than its earmarks\.",
         "Ramen skulle bli mindre än pengarna till särskilda ändamål.", None),
        (r"No earmark of the frame is called (.+)\.",
         "Ramen har inget särskilt ändamål som heter {0}. Skriv ändamålet exakt som i ramen.",
         "earmarks.0.purpose"),
        (r"The earmarked parts exceed the line's amount\.",
         "Pengarna till särskilda ändamål är större än radens belopp.", "earmarks.0.amount_sek"),
        (r"The earmark '(.+)' is (\d+) kr but (\d+) kr is allocated to it\.",
         "Pengar till särskilda ändamål är fel fördelade: ändamålet ”{0}” har {1} i ramen men {2} är fördelat "
         "till det i detaljbudgeten.", None),
        (r"(\S+) may not drop below its earmarked (\d+) kr without .*",
         "Pengar till särskilda ändamål får inte flyttas: {0} får inte understiga sina {1} till särskilda "
         "ändamål utan beslut av kommunfullmäktige.", "amount_sek"),
        (r".*", "Pengar som är bundna till särskilda ändamål används fel.", None),
    ),
    "frame_not_balanced": (
        (r"The allocations add up to (\d+) kr but the frame is (\d+) kr\.",
         "Detaljbudgeten går inte ihop med ramen: raderna är tillsammans {0} men ramen är {1}.", None),
        (r"(\S+) has no frame for (\d+)\.", "Detaljbudgeten kan inte antas: {0} har ingen ram för {1}.", "year"),
        (r".*", "Detaljbudgeten går inte ihop med ramen.", None),
    ),
    "budget_adopted": (
        (r".*already adopted\.", "Detaljbudgeten är redan antagen.", None),
        (r".*", "Detaljbudgeten är redan antagen. Ändra den genom en omdisposition.", None),
    ),
    "unknown_reference": (
        (r"(\S+) has no activity area (\S+)\.", "{0} har inget verksamhetsområde {1}.", None),
        (r"(\S+) has no frame for (\d+) to adjust\.", "{0} har ingen ram för {1}.", "year"),
        (r"There is no (.+?) (\S+)\.", "Det finns {0} {1}.", None),
        (r".*", "Det som anges finns inte.", None),
    ),
    "not_found": (
        (r"There is no (.+?) (\S+)\.", "Det finns {0} {1}.", None),
        (r"(\S+) has no result (\S+)\.", "{0} har inget resultat {1}.", None),
        (r".*", "Det som anges finns inte.", None),
    ),
    "already_exists": (
        (r"The code (\S+) is already taken\.", "Koden {0} används redan. Välj en annan kod.", "code"),
        (r"(\S+) already has an activity area (\S+)\.", "{0} har redan verksamhetsområdet {1}.", "code"),
        (r".*", "Det finns redan.", None),
    ),
    "assignment_withdrawn": ((r".*", "Uppdraget är återkallat och kan inte längre ändras.", None),),
    "concurrent_change": ((r".*", "Någon annan registrerade något samtidigt. Försök igen.", None),),
    "idempotency_key_reused": (
        (r".*", "Formuläret har redan skickats med andra uppgifter. Ladda om sidan och försök igen.", None),),
    "invalid_command": (
        (r"A decision cannot be dated in the future\.", "Ett beslut kan inte dateras i framtiden.", "decision.date"),
        (r"An uppdrag cannot be due before it is issued\.",
         "Uppdraget kan inte redovisas före beslutsdatum.", "due"),
        (r"A revision must change the title, the description or the due date\.",
         "Ändra minst en av rubrik, beskrivning och datum för redovisning.", "title"),
        (r"An uppdrag cannot be due before the decision that revises it\.",
         "Det nya redovisningsdatumet kan inte vara före beslutet om revisionen.", "due"),
        (r"Plan (\S+) covers (\d+)–(\d+); (\d+) is outside it\.",
         "Mål- och resursplanen {0} gäller {1}–{2}; {3} ligger utanför planen.", "year"),
        (r"A frame cannot be negative\.", "En ram kan inte vara negativ.", "amount_sek"),
        (r"An allocation cannot be negative\.", "En budgetrad kan inte vara negativ.", "amount_sek"),
        (r"The detailed budget (\S+) (\d+) is not adopted yet.*",
         "Detaljbudgeten för {0} {1} är inte antagen ännu. Ändra raderna i detaljbudgeten i stället.", "year"),
        (r"from_area and to_area must differ\.", "Välj två olika verksamhetsområden.", "to_area"),
        (r"The amount must be positive\.", "Beloppet måste vara större än noll.", "amount_sek"),
        (r"(\S+) has no line in the budget\.", "{0} har ingen rad i detaljbudgeten.", "from_area"),
        (r"(\S+) has (\d+) kr; (\d+) kr cannot be moved from it\.",
         "{0} har bara {1} i budgeten; {2} kan inte flyttas därifrån.", "amount_sek"),
        (r"period (\S+) is not in (\d+)\.", "Perioden {0} ligger inte i {1}.", "period"),
        (r"period is .*", "Ange ett år (2025), en månad (2025-04) eller en delårsperiod (2025-T1).", "period"),
        (r"period lies in (\d+)-(\d+)\.", "Perioden ska ligga mellan år {0} och {1}.", "period"),
        (r"The decision of (\S+) is dated before (\S+), when this was established\.",
         "Beslutet är daterat före {1}, då det som beslutet gäller fastställdes.", "decision.date"),
        (r"A meeting decision names its paragraph\.", "Ange paragrafen i protokollet, t.ex. §104.",
         "decision.paragraph"),
        (r"effective_from cannot be before the decision date\.", "Gäller från kan inte vara före beslutsdatum.",
         "decision.effective_from"),
        (r"A follow-up cannot be reported in the future\.",
         "Rapporterat den kan inte vara ett datum i framtiden.", "reported_on"),
        (r"A follow-up of (\S+) cannot be reported before (\S+), when the period begins\.",
         "Rapporterat den kan inte vara före {1}, då perioden {0} börjar.", "reported_on"),
        (r"The purpose '(.+)' is earmarked twice\.",
         "Ändamålet ”{0}” står två gånger. Ange varje särskilt ändamål en gång.", None),
        (r"A document is published on the website, the intranet or both\.",
         "Ange var dokumentet publiceras: på hemsidan, på intranätet eller på båda.", "published"),
        (r"published names a channel twice\.", "Ange varje publiceringsställe bara en gång.", "published"),
        (r".*", "Uppgifterna stämmer inte med varandra eller med det som redan är registrerat.", None),
    ),
}
AMOUNT_GROUPS = {  # which groups of a pattern are amounts in kronor, to be shown as such
    ("needs_council_decision", 0): (0, 2),
    ("needs_council_decision", 1): (0, 3, 5),
    ("earmark_violation", 4): (1, 2),
    ("earmark_violation", 5): (1,),
    ("frame_not_balanced", 0): (0, 1),
    ("invalid_command", 11): (1, 2),
}


def domain_message(error: DomainError) -> tuple[str, str | None]:
    """A refusal of the domain in Swedish, and the field it concerns (None: the whole form)."""
    patterns = DOMAIN_MESSAGES.get(error.code, ())
    for index, (pattern, swedish, default_field) in enumerate(patterns):
        match = re.fullmatch(pattern, error.message, flags=re.S)
        if not match:
            continue
        groups = list(match.groups())
        for i in AMOUNT_GROUPS.get((error.code, index), ()):
            groups[i] = _kr(groups[i])
        groups = [KIND_NAMES.get(g, g) for g in groups]
        field = error.field or default_field
        if default_field and error.field and default_field.startswith(error.field + "."):
            field = default_field  # "earmarks": the input of the first row
        return swedish.format(*groups), field
    return "Beslutet stred mot en regel och registrerades inte.", error.field
