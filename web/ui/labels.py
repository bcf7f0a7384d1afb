"""Swedish words for the code's English names: event types, body kinds, statuses (docs/spec/domain.md glossary)."""

from __future__ import annotations

EVENT_TYPES = {
    "BodyEstablished": "Organ inrättat",
    "ActivityAreaAdded": "Verksamhetsområde tillagt",
    "VisionAdopted": "Vision antagen",
    "VisionRevised": "Vision reviderad",
    "GoverningDocumentAdopted": "Styrdokument antaget",
    "GoverningDocumentRevised": "Styrdokument reviderat",
    "GoverningDocumentRepealed": "Styrdokument upphävt",
    "TermOpened": "Mandatperiod öppnad",
    "IndicatorDefined": "Nyckeltal definierat",
    "IndicatorOutcomeReported": "Utfall för nyckeltal",
    "StrategicGoalEstablished": "Inriktningsmål fastställt",
    "StrategicGoalRevised": "Inriktningsmål reviderat",
    "TargetValueFixed": "Målvärde fastställt",
    "ResultDefined": "Resultat definierat",
    "ResultTargetValueFixed": "Målvärde för resultat fastställt",
    "AssignmentIssued": "Uppdrag givet",
    "AssignmentRevised": "Uppdrag reviderat",
    "AssignmentWithdrawn": "Uppdrag återkallat",
    "AssignmentStatusReported": "Uppdragsstatus rapporterad",
    "ResourcePlanDrafted": "Mål- och resursplan upprättad",
    "ResourcePlanAdopted": "Mål- och resursplan antagen",
    "FrameSet": "Ekonomisk ram fastställd",
    "FrameAdjusted": "Ram justerad (tilläggsanslag)",
    "AllocationSet": "Rad i detaljbudget fastställd",
    "OperationalPlanAdopted": "Verksamhetsplan med detaljbudget antagen",
    "BudgetReallocated": "Omdisposition",
    "FinancialOutcomeReported": "Ekonomisk uppföljning",
    "AttainmentAssessed": "Måluppfyllelse bedömd",
    "MeasureDecided": "Åtgärd beslutad",
    "ReportAdopted": "Rapport antagen",
    "AuditReportSubmitted": "Revisionsberättelse lämnad",
    "DischargeDecided": "Ansvarsfrihet prövad",
    "EventRetracted": "Registrering återkallad",
}

BODY_KINDS = {
    "council": "Kommunfullmäktige",
    "council_committee": "Fullmäktigeberedning",
    "executive_board": "Kommunstyrelse",
    "committee": "Nämnd",
    "administration": "Förvaltning",
    "company": "Bolag",
}

ASSIGNMENT_STATUSES = {
    "not_started": "Ej påbörjat",
    "ongoing": "Pågår",
    "completed": "Genomfört",
    "will_not_complete": "Kommer inte att genomföras",
}

ATTAINMENT = {"met": "Uppfyllt", "partly_met": "Delvis uppfyllt", "not_met": "Ej uppfyllt"}

ROLES = {"admin": "Administratör", "registrar": "Registrator", "reporter": "Rapportör", "auditor": "Revisor",
         "viewer": "Läsare"}

DOCUMENT_TYPES = {"plan": "Plan", "policy": "Policy", "programme": "Program", "charter": "Reglemente",
                  "rules": "Regler", "guidelines": "Riktlinjer", "strategy": "Strategi"}

PUBLICATION = {"website": "Hemsida", "intranet": "Intranät"}

REPORT_KINDS = {"discharge_basis": "Ansvarsprövningsunderlag", "interim": "Delårsrapport",
                "annual": "Årsredovisning (mål och budget)", "ledger_export": "Export av händelseloggen"}

REPORT_STATUSES = {"queued": "I kö", "started": "Pågår", "finished": "Klar", "failed": "Misslyckades"}

FIELDS = {
    "code": "Kod", "name": "Namn", "title": "Rubrik", "description": "Beskrivning", "text": "Text",
    "amount_sek": "Belopp (kr)", "delta_sek": "Förändring (kr)", "earmarks": "Särskilda ändamål", "year": "År",
    "value": "Värde", "indicator": "Nyckeltal", "goal": "Inriktningsmål", "body": "Organ", "to_body": "Till organ",
    "due": "Redovisas senast", "reason": "Skäl", "area": "Verksamhetsområde", "from_area": "Från verksamhetsområde",
    "to_area": "Till verksamhetsområde", "plan": "Mål- och resursplan", "period": "Period", "status": "Status",
    "comment": "Kommentar", "reported_on": "Rapporterat den", "outcome_sek": "Utfall (kr)",
    "forecast_sek": "Prognos (kr)", "kind": "Typ", "term": "Mandatperiod", "late": "Antagen för sent",
    "granted": "Ansvarsfrihet beviljad", "remark": "Anmärkning", "remarks": "Anmärkningar",
    "recommendation": "Revisorernas förslag", "attainment": "Måluppfyllelse", "analysis": "Analys",
    "internal_efficiency": "Inre effektivitet", "external_efficiency": "Yttre effektivitet",
    "retracted_position": "Återkallad position", "first_year": "Första år", "last_year": "Sista år",
    "decision.body": "Beslutande organ", "decision.date": "Beslutsdatum", "decision.paragraph": "Paragraf",
    "decision.registry_number": "Diarienummer", "decision.effective_from": "Gäller från",
}


def event_label(event_type: str) -> str:
    return EVENT_TYPES.get(event_type, event_type)
