"""Commands for the organisation and its reference data: bodies, areas, vision, documents, terms, indicators."""

from __future__ import annotations

from domain.bodies import FOUNDING_BODIES, Body
from domain.decisions import BODY_KINDS, Decision, Matter
from domain.documents import GoverningDocument
from domain.errors import AlreadyExistsError, InvalidCommandError, NotFoundError, UnknownReferenceError
from domain.terms import Indicator, Term
from domain.vision import Vision

FOUNDING_KINDS = frozenset(kind for _, _, kind in FOUNDING_BODIES)


class OrganisationCommands:
    def establish_body(self, code: str, name: str, kind: str, decision: Decision, parent: str | None = None,
                       **idem) -> dict:
        def build():
            self.check_new("body", code)
            if kind not in BODY_KINDS:
                raise InvalidCommandError(f"Unknown body kind {kind}.", "kind")
            if kind in FOUNDING_KINDS:
                raise InvalidCommandError(
                    "Every municipality has exactly one Kommunfullmäktige and one Kommunstyrelsen, by law; "
                    "they exist from the start.", "kind")
            if parent is not None:
                self.body(parent, field="parent")
            self.check_competence(Matter.ESTABLISH_BODY, decision)
            return [Body(self.fresh_id("body", code), code, name, kind, parent, decision)]
        return self.execute(build, **idem)

    def add_area(self, body: str, code: str, name: str, decision: Decision, **idem) -> dict:
        def build():
            owner = self.body(body, in_path=True, mutable=True)
            owner.check_new_area(code)
            self.check_competence(Matter.OWN_MATTER, decision, concerned=body)
            owner.check_after_establishment(decision)
            owner.add_area(code, name, decision)
            return [owner]
        return self.execute(build, **idem)

    def adopt_vision(self, text: str, decision: Decision, **idem) -> dict:
        def build():
            self.check_competence(Matter.ADOPT_VISION, decision)
            vision = self.load_or_none("vision")
            if vision is None:
                return [Vision(self.fresh_id("vision"), text, decision)]
            vision.revise(text, decision)
            return [vision]
        return self.execute(build, **idem)

    def adopt_document(self, code: str, decision: Decision, **fields) -> dict:
        idem = {"idempotency": fields.pop("idempotency", None)}

        def build():
            self.check_new("document", code)
            self.check_competence(Matter.GOVERNING_DOCUMENT, decision)
            return [GoverningDocument.adopt(
                self.fresh_id("document", code), code=code, type=fields["type"], name=fields["name"],
                owner=fields["owner"],
                responsible=fields["responsible"], validity=fields["validity"], follow_up=fields["follow_up"],
                subject=fields["subject"], published=list(fields.get("published") or []),
                description=fields.get("description"), related=list(fields.get("related") or []),
                decision=decision,
            )]
        return self.execute(build, **idem)

    def _document(self, code: str, decision: Decision) -> GoverningDocument:
        document = self.load(GoverningDocument, "document", code, missing=NotFoundError)
        document.check_in_force()
        self.check_competence(Matter.GOVERNING_DOCUMENT, decision, extra_allowed=frozenset({document.adopted_by}))
        document.check_after_establishment(decision)
        return document

    def revise_document(self, code: str, decision: Decision, changes: dict, **idem) -> dict:
        def build():
            document = self._document(code, decision)
            if not changes:
                raise InvalidCommandError("A revision must change at least one field.", "name")
            document.revise(changes, decision)
            return [document]
        return self.execute(build, **idem)

    def repeal_document(self, code: str, decision: Decision, **idem) -> dict:
        def build():
            document = self._document(code, decision)
            document.repeal(decision)
            return [document]
        return self.execute(build, **idem)

    def open_term(self, code: str, first_year: int, last_year: int, **idem) -> dict:
        def build():
            self.check_new("term", code)
            return [Term.open(self.fresh_id("term", code), code, first_year, last_year)]
        return self.execute(build, **idem)

    def define_indicator(self, code: str, name: str, unit: str, direction: str, kolada_kpi: str | None = None,
                         **idem) -> dict:
        def build():
            self.check_new("indicator", code)
            return [Indicator.define(self.fresh_id("indicator", code), code, name, unit, direction, kolada_kpi)]
        return self.execute(build, **idem)

    # --- shared guards -------------------------------------------------------------------

    def check_new(self, kind: str, code: str) -> None:
        """The code is free; the command establishes it (so an optimistic attempt need not read the store)."""
        if self.exists(kind, code, creating=True):
            raise AlreadyExistsError(f"The code {code} is already taken.", "code")

    def reference(self, cls, kind: str, code: str | None, field: str):
        """A code inside a request body must exist: otherwise 422 unknown_reference naming the field."""
        if code is None:
            return None
        return self.load(cls, kind, code, missing=UnknownReferenceError, field=field, mutable=False)
