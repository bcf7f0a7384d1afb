"""Författningssamling: governing documents with the seed's metadata; those on the website are public."""

from __future__ import annotations

from collections import defaultdict

from flask import abort, g, redirect, render_template, request, url_for

from projections.facts import valid_from
from web.ui import labels
from web.ui.blueprint import ui
from web.ui.context import load_tenant

REVISION_LIMIT = 500

# The metadata fields under the names of the seed's table (a revision names the fields it changes).
FIELDS = {"type": "Dokumenttyp", "name": "Dokumentnamn", "owner": "Dokumentägare", "responsible": "Dokumentansvarig",
          "validity": "Giltighet", "description": "Dokumentinformation", "follow_up": "Uppföljning",
          "subject": "Ämnesområde", "published": "Publicerad", "related": "Andra regelverk som omnämns"}


def field_value(field: str, value) -> str:
    """A metadata value as the statute book shows it."""
    if value is None or value == []:
        return "–"
    if field == "type":
        return labels.DOCUMENT_TYPES.get(value, value)
    if field == "published":
        return ", ".join(labels.PUBLICATION.get(p, p) for p in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _public(document: dict) -> bool:
    return "website" in (document.get("published") or [])


def _revisions(views, upto: int, as_of, code: str | None = None) -> dict[str, list[dict]]:
    """Revisions and repeals in force per document (retracted ones left out), oldest first."""
    found: dict[str, list[dict]] = defaultdict(list)
    for type_ in ("GoverningDocumentRevised", "GoverningDocumentRepealed"):
        records, _ = views.timeline(type_=type_, subject=f"document:{code}" if code else None, date_to=as_of,
                                    upto=upto, limit=REVISION_LIMIT)
        for record in records:
            retracted_by = record.get("retracted_by")
            if retracted_by is not None and retracted_by <= upto:
                continue
            found[record["data"]["document"]].append({**record, "day": valid_from(record)})
    for rows in found.values():
        rows.sort(key=lambda r: (r["day"], r["position"]))
    return found


def _documents(state: dict, signed_in: bool) -> list[dict]:
    documents = state["documents"] if signed_in else [d for d in state["documents"] if _public(d)]
    return sorted(documents, key=lambda d: (bool(d.get("repealed")), d.get("name") or d["code"]))


@ui.route("/t/<tenant>/forfattningssamling")
def statute_book(tenant: str):
    views, redirect_to = load_tenant(tenant, public=True)
    if redirect_to:
        return redirect_to
    moment = g.moment
    state = views.state(moment.as_of, moment.known_at)
    documents = _documents(state, g.user is not None)
    revisions = _revisions(views, moment.position, moment.as_of)
    names = {b["code"]: b["name"] for b in state["bodies"]}
    return render_template("ui/statute_book.html", documents=documents, revisions=revisions, names=names,
                           types=labels.DOCUMENT_TYPES, publication=labels.PUBLICATION,
                           hidden=len(state["documents"]) - len(documents))


@ui.route("/t/<tenant>/forfattningssamling/<code>")
def document(tenant: str, code: str):
    views, redirect_to = load_tenant(tenant, public=True)
    if redirect_to:
        return redirect_to
    moment = g.moment
    state = views.state(moment.as_of, moment.known_at)
    found = [d for d in state["documents"] if d["code"] == code]
    if not found:
        abort(404)
    document = found[0]
    if g.user is None and not _public(document):
        # Published on the intranet only: for the municipality's staff, after signing in.
        return redirect(url_for("ui.sign_in", next=request.full_path.rstrip("?")))
    names = {b["code"]: b["name"] for b in state["bodies"]}
    history = _revisions(views, moment.position, moment.as_of, code).get(code, [])
    return render_template("ui/document.html", document=document, history=history, names=names,
                           types=labels.DOCUMENT_TYPES, publication=labels.PUBLICATION, fields=FIELDS,
                           field_value=field_value)
