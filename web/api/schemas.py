"""Marshmallow schemas of the API: they validate every request and generate the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import decimal
import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from domain.assessments import ATTAINMENTS
from domain.assignments import ASSIGNMENT_STATUSES
from domain.decisions import BODY_KINDS
from domain.documents import DOCUMENT_TYPES, PUBLICATION_CHANNELS
from domain.platform import ROLES
from domain.results import RESULT_KINDS
from domain.years import REPORT_KINDS

CODE = validate.Regexp(r"^[A-Za-z0-9._-]{1,40}$", error="1 to 40 letters, digits, '-', '_' or '.'.")
PERIOD = validate.Regexp(r"^\d{4}(-(0[1-9]|1[0-2]|T1|T2))?$", error="A year (2024), a month (2024-04) or T1/T2.")
MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="A month, e.g. 2024-04.")
YEAR = validate.Range(min=1900, max=2200)
TEXT = validate.Length(min=1, max=10000)
NAME = validate.Length(min=1, max=300)
# Bounds that keep every number and moment inside what the stores and the calendar hold: a 64-bit integer
# column, a JSON number a browser reads exactly, a date a query can step a day past, a moment in UTC.
MAX_SEK = 10**15  # a thousand times Sweden's GDP in kronor: no municipality's amount comes near
AMOUNT = validate.Range(min=0, max=MAX_SEK)
SIGNED_AMOUNT = validate.Range(min=-MAX_SEK, max=MAX_SEK)
MAX_MEASURE = 10**15
POSITION = validate.Range(min=0, max=2**62)
DAY = validate.Range(min=dt.date(1000, 1, 1), max=dt.date(9998, 12, 31))
MOMENT = validate.Range(min=dt.datetime(1000, 1, 1, tzinfo=dt.UTC), max=dt.datetime(9998, 12, 31, tzinfo=dt.UTC))


class String(fields.String):
    """Text without NUL: PostgreSQL refuses it as a text value (a ?subject= with one answered 500); no text needs it."""

    default_error_messages = {"nul": "Text may not contain the NUL character (\\u0000)."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("nul")
        return text


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Date(fields.Date):
    """A date written YYYY-MM-DD (docs/api.md), nothing looser: marshmallow alone also takes 2026-1-5."""

    default_error_messages = {"format": "Not a date of the form YYYY-MM-DD."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not ISO_DAY.fullmatch(value):
            raise self.make_error("format")
        return super()._deserialize(value, attr, data, **kwargs)


class Boolean(fields.Boolean):
    """true or false as JSON has them: not "yes", 1 or "true", which marshmallow alone turns into true."""

    default_error_messages = {"invalid": "Not a boolean (true or false)."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _within_measure(value) -> None:
    if not -MAX_MEASURE <= value <= MAX_MEASURE:
        raise ValidationError(f"Must be between -{MAX_MEASURE} and {MAX_MEASURE}.")


class Number(fields.Decimal):
    """A JSON number read exactly: not a string of digits, which marshmallow's Decimal alone also takes."""

    default_error_messages = {"invalid": "Not a number."}

    def _deserialize(self, value, attr, data, **kwargs):
        # bool is an int in Python; Decimal comes from the browser forms (web/ui/record_forms.to_json_value).
        if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def Measure(**kw):  # noqa: N802 - reads like a field type
    """A target or outcome value: a JSON number, decimals allowed, documented with its bounds as numbers."""
    return Number(as_string=False, allow_nan=False, validate=_within_measure,
                  metadata={"minimum": -MAX_MEASURE, "maximum": MAX_MEASURE}, **kw)


def Code(**kw):  # noqa: N802 - reads like a field type
    return String(validate=CODE, **kw)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class DecisionSchema(Strict):
    body = Code(required=True, metadata={"description": "Code of the deciding body, e.g. KF"})
    date = Date(required=True, metadata={"description": "Meeting date"})
    kind = String(load_default="meeting", validate=validate.OneOf(["meeting", "delegated"]))
    paragraph = String(load_default=None, validate=validate.Length(min=1, max=40))
    registry_number = String(load_default=None, validate=validate.Length(min=1, max=60))
    effective_from = Date(load_default=None)
    delegation = String(load_default=None, validate=validate.Length(min=1, max=200),
                        metadata={"description": "The delegation decision a delegated decision rests on"})

    @validates_schema
    def check_kind(self, data, **kwargs):
        if data.get("kind") == "meeting" and not data.get("paragraph"):
            raise ValidationError("A meeting decision names its paragraph.", "paragraph")
        if data.get("kind") == "delegated" and not data.get("delegation"):
            raise ValidationError("A delegated decision names its delegation decision.", "delegation")
        if data.get("effective_from") and data["effective_from"] < data["date"]:
            raise ValidationError("effective_from cannot be before the decision date.", "effective_from")


class Decided(Strict):
    decision = fields.Nested(DecisionSchema, required=True)


class EarmarkSchema(Strict):
    purpose = String(required=True, validate=NAME)
    amount_sek = fields.Integer(required=True, strict=True, validate=AMOUNT)


class RecordingSchema(Schema):
    event_id = String(required=True)
    position = fields.Integer(required=True)
    recorded_at = String(required=True)
    hash = String(required=True)


# --- answers other than success (docs/api.md, "Answers") -----------------------------------


class ErrorDetailSchema(Schema):
    code = String(required=True, metadata={"description": "A stable identifier, e.g. not_competent"})
    message = String(required=True)
    field = String(metadata={"description": "The field of the request the error concerns, if one"})


class ErrorSchema(Schema):
    """401, 403, 404, 409, 422, 503: one shape for every refusal."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class ValidationErrorSchema(Schema):
    """400: marshmallow's messages by field, nested fields nested."""

    errors = fields.Dict(required=True, metadata={"description": 'e.g. {"decision": {"paragraph": ["..."]}}'})


# --- platform -------------------------------------------------------------------------------


class TenantSettingsSchema(Strict):
    reallocation_council_threshold_percent = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))


class TenantCreateSchema(Strict):
    slug = String(required=True, validate=validate.Regexp(
        r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])$", error="2 to 40 lowercase letters, digits or '-'."))
    name = String(required=True, validate=NAME)
    municipality_code = String(required=True, validate=validate.Regexp(r"^\d{4}$", error="Four digits."))
    settings = fields.Nested(TenantSettingsSchema, load_default=dict)


class TenantSchema(Schema):
    slug = String()
    name = String()
    municipality_code = String()
    settings = fields.Dict()


class UserCreateSchema(Strict):
    email = fields.Email(required=True)
    name = String(required=True, validate=NAME)
    role = String(required=True, validate=validate.OneOf(ROLES))
    bodies = fields.List(Code(), load_default=list)


class UserCreatedSchema(Schema):
    id = String()
    token = String()


# --- organisation ---------------------------------------------------------------------------


class BodySchema(Decided):
    code = Code(required=True)
    name = String(required=True, validate=NAME)
    kind = String(required=True, validate=validate.OneOf(BODY_KINDS))
    parent = Code(load_default=None)


class AreaSchema(Decided):
    code = Code(required=True)
    name = String(required=True, validate=NAME)


class VisionSchema(Decided):
    text = String(required=True, validate=TEXT)


class DocumentSchema(Decided):
    code = Code(required=True)
    type = String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))
    name = String(required=True, validate=NAME)
    owner = String(required=True, validate=NAME)
    responsible = String(required=True, validate=NAME)
    validity = String(required=True, validate=NAME)
    follow_up = String(required=True, validate=NAME)
    subject = String(required=True, validate=NAME)
    published = fields.List(String(validate=validate.OneOf(PUBLICATION_CHANNELS)), required=True)
    description = String(load_default=None, validate=TEXT)
    related = fields.List(String(validate=NAME), load_default=list)


class DocumentRevisionSchema(Decided):
    name = String(validate=NAME)
    owner = String(validate=NAME)
    responsible = String(validate=NAME)
    validity = String(validate=NAME)
    follow_up = String(validate=NAME)
    subject = String(validate=NAME)
    published = fields.List(String(validate=validate.OneOf(PUBLICATION_CHANNELS)))
    description = String(validate=TEXT)
    related = fields.List(String(validate=NAME))

    @validates_schema
    def check_change(self, data, **kwargs):
        # Malformed input (400), as for the other revisions, before the domain is asked.
        if not set(data) - {"decision"}:
            raise ValidationError("A revision changes at least one field.", "name")


class TermSchema(Strict):
    code = Code(required=True)
    first_year = fields.Integer(required=True, strict=True, validate=YEAR)
    last_year = fields.Integer(required=True, strict=True, validate=YEAR)

    @validates_schema
    def check_order(self, data, **kwargs):
        if data["last_year"] < data["first_year"]:
            raise ValidationError("last_year must not be before first_year.", "last_year")


class IndicatorSchema(Strict):
    code = Code(required=True)
    name = String(required=True, validate=NAME)
    unit = String(required=True, validate=validate.Length(min=1, max=40))
    direction = String(required=True, validate=validate.OneOf(["increase", "decrease"]))
    kolada_kpi = String(load_default=None, validate=validate.Regexp(r"^[A-Z]\d{5}$", error="e.g. N00002"))


# --- goals, results, assignments ------------------------------------------------------------


class GoalSchema(Decided):
    code = Code(required=True)
    term = Code(required=True)
    title = String(required=True, validate=NAME)
    description = String(load_default=None, validate=TEXT)


class GoalRevisionSchema(Decided):
    title = String(load_default=None, validate=NAME)
    description = String(load_default=None, validate=TEXT)

    @validates_schema
    def check_change(self, data, **kwargs):
        if data.get("title") is None and data.get("description") is None:
            raise ValidationError("A revision changes the title or the description.", "title")


class TargetSchema(Decided):
    indicator = Code(required=True)
    year = fields.Integer(required=True, strict=True, validate=YEAR)
    value = Measure(required=True)


class ResultSchema(Decided):
    code = Code(required=True)
    kind = String(required=True, validate=validate.OneOf(RESULT_KINDS))
    title = String(required=True, validate=NAME)
    goal = Code(load_default=None)

    @validates_schema
    def check_goal(self, data, **kwargs):
        if data.get("kind") == "expected" and not data.get("goal"):
            raise ValidationError("A förväntat resultat names its inriktningsmål.", "goal")


class AssignmentSchema(Decided):
    code = Code(required=True)
    to_body = Code(required=True)
    goal = Code(load_default=None)
    title = String(required=True, validate=NAME)
    description = String(required=True, validate=TEXT)
    due = Date(required=True)


class AssignmentRevisionSchema(Decided):
    title = String(load_default=None, validate=NAME)
    description = String(load_default=None, validate=TEXT)
    due = Date(load_default=None)

    @validates_schema
    def check_change(self, data, **kwargs):
        if data.get("title") is None and data.get("description") is None and data.get("due") is None:
            raise ValidationError("A revision changes the title, the description or the due date.", "title")


class WithdrawalSchema(Decided):
    reason = String(required=True, validate=TEXT)


class StatusSchema(Strict):
    status = String(required=True, validate=validate.OneOf(ASSIGNMENT_STATUSES))
    period = String(required=True, validate=PERIOD)
    comment = String(required=True, validate=TEXT)
    reported_on = Date(required=True)


# --- plans and budgets ----------------------------------------------------------------------


class PlanSchema(Strict):
    code = Code(required=True)
    first_year = fields.Integer(required=True, strict=True, validate=YEAR)


class FrameSchema(Decided):
    body = Code(required=True)
    year = fields.Integer(required=True, strict=True, validate=YEAR)
    amount_sek = fields.Integer(required=True, strict=True, validate=AMOUNT)
    earmarks = fields.List(fields.Nested(EarmarkSchema), load_default=list)


class AdoptionSchema(Decided):
    pass


class FrameAdjustmentSchema(Decided):
    body = Code(required=True)
    year = fields.Integer(required=True, strict=True, validate=YEAR)
    delta_sek = fields.Integer(required=True, strict=True, validate=SIGNED_AMOUNT)
    reason = String(required=True, validate=TEXT)


class AllocationSchema(Decided):
    area = Code(required=True)
    amount_sek = fields.Integer(required=True, strict=True, validate=AMOUNT)
    earmarks = fields.List(fields.Nested(EarmarkSchema), load_default=list)


class ReallocationSchema(Decided):
    from_area = Code(required=True)
    to_area = Code(required=True)
    amount_sek = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_SEK))
    reason = String(required=True, validate=TEXT)


# --- follow-up and accountability -----------------------------------------------------------


class FinancialSchema(Strict):
    body = Code(required=True)
    period = String(required=True, validate=PERIOD)
    area = Code(load_default=None)
    outcome_sek = fields.Integer(required=True, strict=True, validate=SIGNED_AMOUNT)
    forecast_sek = fields.Integer(required=True, strict=True, validate=SIGNED_AMOUNT)
    reported_on = Date(required=True)


class IndicatorOutcomeSchema(Strict):
    indicator = Code(required=True)
    period = String(required=True, validate=PERIOD)
    value = Measure(required=True)
    body = Code(load_default=None)
    reported_on = Date(required=True)


class AssessmentSchema(Strict):
    subject = String(required=True, validate=validate.Regexp(
        r"^(goal|result|assignment):[A-Za-z0-9._-]{1,40}$", error="goal:CODE, result:CODE or assignment:CODE."))
    period = String(required=True, validate=PERIOD)
    attainment = String(required=True, validate=validate.OneOf(ATTAINMENTS))
    analysis = String(required=True, validate=TEXT)
    internal_efficiency = String(load_default=None, validate=TEXT)
    external_efficiency = String(load_default=None, validate=TEXT)
    reported_on = Date(required=True)


class MeasureSchema(Decided):
    body = Code(required=True)
    year = fields.Integer(required=True, strict=True, validate=YEAR)
    description = String(required=True, validate=TEXT)
    amount_sek = fields.Integer(load_default=None, strict=True, validate=SIGNED_AMOUNT)


class ReportAdoptionSchema(Decided):
    kind = String(required=True, validate=validate.OneOf(REPORT_KINDS))
    year = fields.Integer(required=True, strict=True, validate=YEAR)


class AuditReportSchema(Strict):
    body = Code(required=True)
    year = fields.Integer(required=True, strict=True, validate=YEAR)
    recommendation = String(required=True, validate=validate.OneOf(["grant", "refuse"]))
    remarks = String(required=True, validate=validate.Length(max=10000))
    submitted_on = Date(required=True)


class DischargeSchema(Decided):
    body = Code(required=True)
    year = fields.Integer(required=True, strict=True, validate=YEAR)
    granted = Boolean(required=True)
    remark = String(load_default=None, validate=TEXT)


class RetractionSchema(Strict):
    reason = String(required=True, validate=TEXT)


# --- ledger queries -------------------------------------------------------------------------


class EventsQuerySchema(Strict):
    after = fields.Integer(load_default=0, validate=POSITION)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class LedgerEventSchema(Schema):
    position = fields.Integer()
    id = String()
    type = String()
    tenant = String()
    recorded_at = String()
    recorded_by = String(allow_none=True)
    decision = fields.Dict(allow_none=True)
    data = fields.Dict()
    prev_hash = String()
    hash = String()


class EventsPageSchema(Schema):
    events = fields.List(fields.Nested(LedgerEventSchema))
    next_after = fields.Integer(allow_none=True)


class LedgerHeadSchema(Schema):
    head_position = fields.Integer()
    head_hash = String()


class VerificationSchema(Schema):
    ok = fields.Boolean()
    checked = fields.Integer()
    first_bad_position = fields.Integer(allow_none=True)


# --- read side ------------------------------------------------------------------------------


class AsOfQuerySchema(Strict):
    as_of = Date(load_default=None, validate=DAY,
                 metadata={"description": "Decision time: what was in force on this date"})
    known_at = fields.AwareDateTime(load_default=None, default_timezone=None, validate=MOMENT, metadata={
        "description": "Record time: as the records stood at this moment (ISO 8601 with offset)"})
    min_position = fields.Integer(load_default=None, validate=POSITION, metadata={
        "description": "Wait briefly until the read models include this ledger position"})


class TimelineQuerySchema(Strict):
    body = Code(load_default=None)
    subject = String(load_default=None, validate=validate.Length(max=200))
    type = String(load_default=None, validate=validate.Regexp(r"^[A-Za-z]{1,60}$"))
    from_ = Date(data_key="from", load_default=None, validate=DAY)
    to = Date(load_default=None, validate=DAY)
    cursor = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**62))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    min_position = fields.Integer(load_default=None, validate=POSITION)

    @validates_schema
    def check_order(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError("to must not be before from.", "to")


class DiffQuerySchema(Strict):
    from_ = Date(data_key="from", required=True, validate=DAY)
    to = Date(required=True, validate=DAY)
    known_at = fields.AwareDateTime(load_default=None, validate=MOMENT)
    min_position = fields.Integer(load_default=None, validate=POSITION)

    @validates_schema
    def check_order(self, data, **kwargs):
        if data["to"] < data["from_"]:
            raise ValidationError("to must not be before from.", "to")


class StateSchema(Schema):
    tenant = String()
    as_of = String()
    known_at = String(allow_none=True)
    position = fields.Integer()
    vision = fields.Dict(allow_none=True)
    terms = fields.List(fields.Dict())
    indicators = fields.List(fields.Dict())
    goals = fields.List(fields.Dict())
    bodies = fields.List(fields.Dict())
    assignments = fields.List(fields.Dict())
    plans = fields.List(fields.Dict())
    documents = fields.List(fields.Dict())


class TimelinePageSchema(Schema):
    position = fields.Integer(metadata={"description": "The ledger position the page was read at"})
    entries = fields.List(fields.Dict())
    next_cursor = fields.Integer(allow_none=True)


class DiffSchema(Schema):
    tenant = String()
    from_ = String(data_key="from", attribute="from")
    to = String()
    known_at = String(allow_none=True)
    position = fields.Integer()
    changes = fields.List(fields.Dict())


# --- reports --------------------------------------------------------------------------------

REPORT_FORMATS = {"discharge_basis": ("pdf", "html", "csv"), "interim": ("pdf", "html", "csv"),
                  "annual": ("pdf", "html", "csv"), "ledger_export": ("jsonl",)}


class ReportRequestSchema(Strict):
    kind = String(required=True, validate=validate.OneOf(list(REPORT_FORMATS)))
    body = Code(load_default=None)
    year = fields.Integer(load_default=None, strict=True, validate=YEAR)
    period = String(load_default=None, validate=validate.OneOf(["T1", "T2"]),
                           metadata={"description": "For interim: T1 (through April) or T2 (through August)"})
    as_of = Date(load_default=None, validate=DAY)
    known_at = fields.AwareDateTime(load_default=None, validate=MOMENT)
    format = String(required=True, validate=validate.OneOf(["pdf", "html", "csv", "jsonl"]))

    @validates_schema
    def check_combination(self, data, **kwargs):
        kind = data.get("kind")
        errors: dict[str, list[str]] = {}  # every field that is wrong, not only the first
        if kind != "ledger_export" and data.get("year") is None:
            errors["year"] = ["This report is for a year."]
        if kind == "discharge_basis" and not data.get("body"):
            errors["body"] = ["The ansvarsprövningsunderlag is for one body."]
        if kind != "discharge_basis" and data.get("body"):
            errors["body"] = [f"{kind} covers the whole municipality: leave body out."]
        if kind == "interim" and not data.get("period"):
            errors["period"] = ["A delårsrapport is for T1 (through April) or T2 (through August)."]
        if kind != "interim" and data.get("period"):
            errors["period"] = ["Only an interim report has a period."]
        if kind in REPORT_FORMATS and data.get("format") not in REPORT_FORMATS[kind]:
            errors["format"] = [f"{kind} comes as {', '.join(REPORT_FORMATS[kind])}."]
        if errors:
            raise ValidationError(errors)


class ReportAcceptedSchema(Schema):
    id = String()
    status_url = String()


class ReportStatusSchema(Schema):
    id = String()
    kind = String()
    format = String()
    status = String()
    progress = fields.Integer()
    based_on = fields.Dict()
    as_of = String(allow_none=True)
    known_at = String(allow_none=True)
    sha256 = String(allow_none=True)
    file_url = String(allow_none=True)
    error = String(allow_none=True)
