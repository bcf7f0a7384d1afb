"""The demo tenant Vänersborg (1487): real public decisions plus clearly labelled example data, recorded by command."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from domain.context import current_actor
from domain.decisions import Decision

EXAMPLE_DATA_NOTE = "Exempeldata: belopp, målvärden och utfall är påhittade för demonstration."

# The marker every invented record carries in its reason, description, remark or analysis.
EXEMPEL = "Exempeldata"

DEMO_ACTOR = "demo"

# ---------------------------------------------------------------------------------------------
# Real facts (docs/spec/vanersborg.md and the guideline's metadata table).
# ---------------------------------------------------------------------------------------------

VISION = "Vänersborgs kommun – attraktiv och hållbar i alla delar, hela livet"

TERM = "2023-2026"

# Kommunfullmäktiges inriktningsmål 2023–2025, verbatim (including the final full stop of IM5).
GOALS = (
    ("IM1", "Våra invånare ska ha mer jämställda och jämlika förutsättningar att påverka sina liv"),
    ("IM2", "Fler barn och unga uppnår bättre skolresultat och fullföljer sina studier"),
    ("IM3", "Vänersborg är en ekologiskt hållbar kommun med minskad klimatpåverkan"),
    ("IM4", "Vänersborgs kommun har en god service och hög effektivitet gentemot våra invånare och företag"),
    ("IM5", "Våra medarbetare ska ges förutsättningar för ett friskt och hållbart arbetsliv."),
)

# The political organisation 2022–2026 (KF and KS exist from provisioning). Revisorerna have no body
# kind in the domain, and the jointly funded kommunalförbund (Kunskapsförbundet Väst, Norra Älvsborgs
# Räddningstjänstförbund) are not bodies of the municipality, so neither is recorded.
BODIES = (
    ("DEMB", "Demokratiberedning", "council_committee", None),
    ("VALB", "Valberedning", "council_committee", None),
    ("BUN", "Barn- och utbildningsnämnden", "committee", None),
    ("KFN", "Kultur- och fritidsnämnden", "committee", None),
    ("SN", "Socialnämnden", "committee", None),
    ("MHN", "Miljö- och hälsoskyddsnämnden", "committee", None),
    ("BN", "Byggnadsnämnden", "committee", None),
    ("SBN", "Samhällsbyggnadsnämnden", "committee", None),
    ("VN", "Valnämnden", "committee", None),
    ("OFN", "Överförmyndarnämnden", "committee", None),
    # Five of the municipality's six förvaltningar, each under the nämnd it serves.
    ("KSF", "Kommunstyrelseförvaltningen", "administration", "KS"),
    ("BUF", "Barn- och utbildningsförvaltningen", "administration", "BUN"),
    ("KFF", "Kultur- och fritidsförvaltningen", "administration", "KFN"),
    ("SOCF", "Socialförvaltningen", "administration", "SN"),
    ("SBF", "Samhällsbyggnadsförvaltningen", "administration", "SBN"),
)

# KS counts as a nämnd (§3.3): these are the bodies KF grants or refuses ansvarsfrihet.
NAMNDER = ("KS", "BUN", "KFN", "SN", "MHN", "BN", "SBN", "VN", "OFN")

GUIDELINE = {
    "type": "guidelines",
    "name": "Riktlinjer för Vänersborgs kommuns styrning och ledning",
    "owner": "Kommunstyrelseförvaltningen",
    "responsible": "Kommundirektör",
    "validity": "Tills vidare",
    "follow_up": "En gång per mandatperiod",
    "subject": "Kommunfullmäktiges regler",
    "published": ["website"],
    "description": "Kommunens styrprinciper för styrning och ledning",
    "related": ["Mål- och resursplan", "vision", "riktlinjer för styrande dokument", "personalpolicy"],
}


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def meeting(body: str, date: str, paragraph: str, registry_number: str | None = None,
            effective_from: str | None = None) -> Decision:
    """A decision taken at a meeting of `body` on `date` (ISO), written under `paragraph`."""
    return Decision(body, _date(date), paragraph=paragraph, registry_number=registry_number,
                    effective_from=_date(effective_from) if effective_from else None)


# Decisions of Kommunfullmäktige. Dates of the real decisions are from vanersborg.md; their paragraph
# numbers are NOT public in our sources and are illustrative (used consistently: one paragraph per matter
# and meeting). Only the guideline's §104 and KS 2021/432 are real. Registry numbers are left out where
# unknown rather than invented.
KF_VISION = meeting("KF", "2013-12-11", "§178")
# Illustrative: the nämnder existed long before the demo's period; their establishment is recorded
# as one KF decision on the political organisation so that every body has a deciding act.
KF_ORGANISATION = meeting("KF", "2018-12-12", "§205")
# Illustrative: MRP 2022–2024 (needed for the 2022 frames the real 2022 decisions adjust), June as usual.
KF_MRP2022 = meeting("KF", "2021-06-16", "§92")
KF_MRP2022_FROM_2022 = meeting("KF", "2021-06-16", "§92", effective_from="2022-01-01")
KF_BUN_TILLAGG_2022 = meeting("KF", "2022-04-13", "§48")
KF_DISCHARGE_2021 = meeting("KF", "2022-04-13", "§50")
KF_MRP2023_JUNE = meeting("KF", "2022-06-22", "§101")  # the M+L proposal
KF_KFN_INVEST_2022 = meeting("KF", "2022-06-22", "§103")
KF_SBN_INVEST_2022 = meeting("KF", "2022-11-23", "§170")
KF_MRP2023 = meeting("KF", "2022-12-14", "§190")  # adopted anew on the KS proposal; supersedes June
# Inriktningsmål, målvärden, frames and uppdrag of MRP 2023–2025 are part of the December decision,
# in force from the first plan year.
KF_MRP2023_FROM_2023 = meeting("KF", "2022-12-14", "§190", effective_from="2023-01-01")
KF_GUIDELINE = meeting("KF", "2023-06-21", "§104", registry_number="KS 2021/432")

# Illustrative decisions of the example years (dates follow the annual cycle; 2024 KF dates are the
# real meeting days from vanersborg.md, the matters decided on them in this demo are examples).
KF_MRP2024 = meeting("KF", "2023-06-21", "§98")
KF_MRP2024_FROM_2024 = meeting("KF", "2023-06-21", "§98", effective_from="2024-01-01")
KF_REVISE_U2023_02 = meeting("KF", "2023-06-21", "§99")
KF_INTERIM_T1_2023 = meeting("KF", "2023-06-21", "§100")
KF_INTERIM_T2_2023 = meeting("KF", "2023-10-25", "§150")
KF_WITHDRAW_U2023_03 = meeting("KF", "2023-10-25", "§152")
KF_ANNUAL_2023 = meeting("KF", "2024-04-17", "§45")
KF_DISCHARGE_2023 = meeting("KF", "2024-04-17", "§46")
KF_INTERIM_T1_2024 = meeting("KF", "2024-06-19", "§95")
KF_INTERIM_T2_2024 = meeting("KF", "2024-10-23", "§148")

KS_RESULTS_2023 = meeting("KS", "2022-12-21", "§221")
KS_INTERIM_T1_2023 = meeting("KS", "2023-06-07", "§118")
KS_INTERIM_T2_2023 = meeting("KS", "2023-10-11", "§181")
KS_RESULTS_2024 = meeting("KS", "2023-11-29", "§203")
KS_ANNUAL_2023 = meeting("KS", "2024-03-27", "§52")
KS_INTERIM_T1_2024 = meeting("KS", "2024-06-05", "§112")
KS_INTERIM_T2_2024 = meeting("KS", "2024-10-09", "§171")

# The nämnder's verksamhetsplaner with detailed budget (illustrative meetings and paragraphs).
# VP 2023 follows KF's December 2022 MRP; Kultur- och fritidsnämnden adopts its plan in January:
# recorded and flagged late (docs/spec/domain.md rule 7).
VP_2023 = {
    "BUN": meeting("BUN", "2022-12-19", "§112"),
    "SN": meeting("SN", "2022-12-20", "§151"),
    "KFN": meeting("KFN", "2023-01-23", "§4"),
    "SBN": meeting("SBN", "2022-12-15", "§182"),
    "KS": KS_RESULTS_2023,
}
VP_2024 = {
    "BUN": meeting("BUN", "2023-11-20", "§96"),
    "SN": meeting("SN", "2023-11-21", "§139"),
    "KFN": meeting("KFN", "2023-12-11", "§87"),
    "SBN": meeting("SBN", "2023-12-14", "§168"),
    "KS": KS_RESULTS_2024,
}
SN_MEASURE_2024 = meeting("SN", "2024-05-21", "§71")
BUN_REALLOCATION_2024 = meeting("BUN", "2024-08-26", "§61")

# ---------------------------------------------------------------------------------------------
# Exempeldata: every figure below is invented for the demonstration (EXAMPLE_DATA_NOTE).
# ---------------------------------------------------------------------------------------------

# code, name, unit, direction, Kolada KPI id (only where the indicator is Kolada's own).
INDICATORS = (
    ("N15419", "Elever i åk 9 som uppnått kunskapskraven i alla ämnen, kommunala skolor, andel (%)",
     "%", "increase", "N15419"),
    ("N15436", "Elever i åk 9 som är behöriga till yrkesprogram, kommunala skolor, andel (%)",
     "%", "increase", "N15436"),
    ("IND-INFLYT", "Invånare som anser att de har möjlighet att påverka kommunens beslut, andel (%)",
     "%", "increase", None),
    ("IND-FOSSIL", "Fossilfria drivmedel i kommunens fordonsflotta, andel (%)", "%", "increase", None),
    ("IND-ETJ", "E-tjänster för invånare och företag, antal", "antal", "increase", None),
    ("IND-SJUK", "Sjukfrånvaro bland kommunens medarbetare, andel av ordinarie arbetstid (%)",
     "%", "decrease", None),
    ("IND-FSKPLATS", "Barn som erbjuds förskoleplats på önskat datum, andel (%)", "%", "increase", None),
    ("IND-HEMTJ", "Brukare som är nöjda med sin hemtjänst, andel (%)", "%", "increase", None),
    ("IND-FRITID", "Deltagartillfällen i föreningsverksamhet, 7–20 år, antal", "antal", "increase", None),
)

# Målvärden KF fixes for year 1 and year 3 of each plan: goal, indicator, {year: value}.
GOAL_TARGETS = {
    "MRP2023": (
        ("IM1", "IND-INFLYT", {2023: "42", 2025: "45"}),
        ("IM2", "N15419", {2023: "75", 2025: "78"}),
        ("IM2", "N15436", {2023: "85", 2025: "88"}),
        ("IM3", "IND-FOSSIL", {2023: "70", 2025: "85"}),
        ("IM4", "IND-ETJ", {2023: "120", 2025: "160"}),
        ("IM5", "IND-SJUK", {2023: "8.0", 2025: "7.0"}),
    ),
    "MRP2024": (
        ("IM1", "IND-INFLYT", {2024: "43", 2026: "46"}),
        ("IM2", "N15419", {2024: "76", 2026: "80"}),
        ("IM2", "N15436", {2024: "86", 2026: "89"}),
        ("IM3", "IND-FOSSIL", {2024: "75", 2026: "90"}),
        ("IM4", "IND-ETJ", {2024: "135", 2026: "180"}),
        ("IM5", "IND-SJUK", {2024: "7.6", 2026: "6.5"}),
    ),
}

# Frames (kr) KF sets for year 1 of each plan, with BUN's earmark.
EARMARK_PURPOSE = "Lovskola och läxhjälp"
FRAMES = {
    ("MRP2022", 2022): {"BUN": 1_062_000_000, "KFN": 75_000_000, "SBN": 108_000_000},
    ("MRP2023", 2023): {
        "KS": 165_000_000, "BUN": 1_105_000_000, "KFN": 78_000_000, "SN": 985_000_000, "MHN": 14_500_000,
        "BN": 9_800_000, "SBN": 112_000_000, "VN": 400_000, "OFN": 6_200_000,
    },
    ("MRP2024", 2024): {
        "KS": 172_000_000, "BUN": 1_148_000_000, "KFN": 80_500_000, "SN": 1_022_000_000, "MHN": 15_000_000,
        "BN": 10_200_000, "SBN": 116_000_000, "VN": 1_200_000, "OFN": 6_500_000,
    },
}
EARMARKS = {("BUN", 2023): 3_000_000, ("BUN", 2024): 4_000_000}

AREAS = {
    "BUN": (("FORSKOLA", "Förskola"), ("GRUNDSKOLA", "Grundskola och förskoleklass"),
            ("ANPASSAD", "Anpassad grundskola"), ("FRITIDSHEM", "Fritidshem"),
            ("GEMENSAMT", "Nämnd och gemensam verksamhet")),
    "SN": (("AO", "Äldreomsorg"), ("FUNKTION", "Funktionsstöd"), ("IFO", "Individ- och familjeomsorg"),
           ("GEMENSAMT", "Nämnd och gemensam verksamhet")),
    "KFN": (("BIBLIOTEK", "Bibliotek"), ("FRITID", "Fritid och anläggningar"),
            ("KULTUR", "Kulturverksamhet och kulturskola")),
}

# Detailed budgets: area -> kr; they add up to the frame, and BUN's earmark sits on GRUNDSKOLA.
ALLOCATIONS = {
    ("BUN", 2023): {"FORSKOLA": 330_000_000, "GRUNDSKOLA": 560_000_000, "ANPASSAD": 48_000_000,
                    "FRITIDSHEM": 62_000_000, "GEMENSAMT": 105_000_000},
    ("SN", 2023): {"AO": 520_000_000, "FUNKTION": 255_000_000, "IFO": 165_000_000, "GEMENSAMT": 45_000_000},
    ("KFN", 2023): {"BIBLIOTEK": 21_000_000, "FRITID": 39_000_000, "KULTUR": 18_000_000},
    ("BUN", 2024): {"FORSKOLA": 338_000_000, "GRUNDSKOLA": 585_000_000, "ANPASSAD": 51_000_000,
                    "FRITIDSHEM": 64_000_000, "GEMENSAMT": 110_000_000},
    ("SN", 2024): {"AO": 540_000_000, "FUNKTION": 265_000_000, "IFO": 170_000_000, "GEMENSAMT": 47_000_000},
    ("KFN", 2024): {"BIBLIOTEK": 21_500_000, "FRITID": 40_500_000, "KULTUR": 18_500_000},
}
EARMARKED_AREA = ("BUN", "GRUNDSKOLA")

# Förväntade (expected, under an inriktningsmål) and egna (own) resultat: body, code, kind, goal, title, indicator.
RESULTS = (
    ("BUN", "BUN-FR1", "expected", "IM2", "Fler elever i åk 9 är behöriga till gymnasiets yrkesprogram", "N15436"),
    ("BUN", "BUN-ER1", "own", None, "Barn erbjuds förskoleplats på önskat placeringsdatum", "IND-FSKPLATS"),
    ("SN", "SN-FR1", "expected", "IM5", "Sjukfrånvaron inom socialförvaltningen minskar", "IND-SJUK"),
    ("SN", "SN-ER1", "own", None, "Brukarna är nöjda med sin hemtjänst", "IND-HEMTJ"),
    ("KFN", "KFN-FR1", "expected", "IM1",
     "Fler barn och unga i alla kommundelar deltar i föreningslivets fritidsaktiviteter", "IND-FRITID"),
    ("KS", "KS-FR1", "expected", "IM4", "Fler ärenden kan skötas digitalt via e-tjänster", "IND-ETJ"),
    ("SBN", "SBN-FR1", "expected", "IM3", "Kommunens fordon körs på fossilfria drivmedel", "IND-FOSSIL"),
)
# Målvärden of the results, per verksamhetsplan: result -> {year: value} for year 1 and year 3.
RESULT_TARGETS = {
    2023: {"BUN-FR1": {2023: "84", 2025: "88"}, "BUN-ER1": {2023: "95", 2025: "98"},
           "SN-FR1": {2023: "9.0", 2025: "8.0"}, "SN-ER1": {2023: "88", 2025: "90"},
           "KFN-FR1": {2023: "260000", 2025: "275000"}, "KS-FR1": {2023: "120", 2025: "160"},
           "SBN-FR1": {2023: "70", 2025: "85"}},
    2024: {"BUN-FR1": {2024: "86", 2026: "89"}, "BUN-ER1": {2024: "96", 2026: "98"},
           "SN-FR1": {2024: "8.6", 2026: "7.5"}, "SN-ER1": {2024: "89", 2026: "91"},
           "KFN-FR1": {2024: "265000", 2026: "280000"}, "KS-FR1": {2024: "135", 2026: "180"},
           "SBN-FR1": {2024: "75", 2026: "90"}},
}

# Financial follow-up: (body, year) -> [(period, year-end forecast in kr)]; the outcome to date is derived.
PERIOD_MONTHS = {"02": 2, "03": 3, "T1": 4, "06": 6, "T2": 8, "10": 10}
REPORTED_ON = {
    "2023-03": "2023-04-14", "2023-T1": "2023-05-12", "2023-06": "2023-07-14", "2023-T2": "2023-09-15",
    "2023-10": "2023-11-14", "2023": "2024-02-09",
    "2024-02": "2024-03-14", "2024-03": "2024-04-15", "2024-T1": "2024-05-14", "2024-06": "2024-07-12",
    "2024-T2": "2024-09-13", "2024-10": "2024-11-14", "2024": "2025-02-14",
}
FORECASTS = {
    2023: {
        "BUN": (1_103_000_000, 1_101_500_000, 1_104_000_000, 1_104_000_000, 1_104_500_000, 1_102_300_000),
        "SN": (984_000_000, 985_000_000, 984_500_000, 983_000_000, 984_000_000, 983_600_000),
        "KFN": (78_000_000, 77_800_000, 77_900_000, 77_600_000, 77_700_000, 77_450_000),
    },
    # SN's forecast exceeds its 1 022 mnkr frame until the nämnd decides measures in May 2024.
    2024: {
        "BUN": (1_147_000_000, 1_146_500_000, 1_147_500_000, 1_148_000_000, 1_147_000_000, 1_146_800_000,
                1_146_200_000),
        "SN": (1_030_000_000, 1_034_000_000, 1_036_000_000, 1_021_500_000, 1_021_000_000, 1_020_500_000,
               1_020_800_000),
        "KFN": (80_500_000, 80_400_000, 80_300_000, 80_500_000, 80_200_000, 80_300_000, 80_150_000),
    },
}
PERIODS = {
    2023: ("2023-03", "2023-T1", "2023-06", "2023-T2", "2023-10", "2023"),
    2024: ("2024-02", "2024-03", "2024-T1", "2024-06", "2024-T2", "2024-10", "2024"),
}

# Indicator outcomes: (indicator, body or None for the whole municipality) -> {period: value}.
OUTCOMES = {
    2023: {("IND-INFLYT", None): "40", ("N15419", None): "72.4", ("N15436", None): "83.9",
           ("IND-FOSSIL", None): "71.5", ("IND-ETJ", None): "118", ("IND-SJUK", None): "8.4",
           ("IND-SJUK", "SN"): "9.3", ("IND-FSKPLATS", "BUN"): "93", ("IND-HEMTJ", "SN"): "86",
           ("IND-FRITID", "KFN"): "255000"},
    2024: {("IND-INFLYT", None): "41", ("N15419", None): "74.1", ("N15436", None): "85.2",
           ("IND-FOSSIL", None): "78", ("IND-ETJ", None): "141", ("IND-SJUK", None): "7.8",
           ("IND-SJUK", "SN"): "8.8", ("IND-FSKPLATS", "BUN"): "97", ("IND-HEMTJ", "SN"): "88",
           ("IND-FRITID", "KFN"): "268000"},
}

# Måluppfyllelse with analysis of inre and yttre effektivitet: subject -> (attainment, analysis, inre, yttre).
ASSESSMENTS = {
    "2023": {
        "goal:IM1": ("partly_met", "Andelen som upplever att de kan påverka ökar något men når inte målvärdet.",
                     "Invånardialoger genomfördes enligt plan men nådde få unga.",
                     "Dialogformerna behöver omprövas för att nå grupper som sällan deltar."),
        "goal:IM2": ("partly_met", "Behörigheten till yrkesprogram ökar men målvärdet nås inte.",
                     "Studiehandledning och lovskola genomfördes som planerat.",
                     "Insatserna når rätt elever; effekten väntas främst på längre sikt."),
        "goal:IM3": ("met", "Andelen fossilfria drivmedel överträffar målvärdet.",
                     "Upphandlingen av fordon följde den nya riktlinjen.",
                     "Rätt insats: omställningen av fordonsflottan ger tydlig effekt."),
        "goal:IM4": ("partly_met", "Antalet e-tjänster ligger strax under målvärdet.",
                     "Införandet försenades av byte av plattform.",
                     "E-tjänsterna används flitigt; prioriteringen av tjänster är rätt."),
        "goal:IM5": ("not_met", "Sjukfrånvaron ligger kvar över målvärdet.",
                     "Planerade arbetsmiljöinsatser genomfördes bara delvis.",
                     "Insatserna behöver riktas mer mot de arbetsplatser som har högst frånvaro."),
        "result:BUN-FR1": ("partly_met", "Behörigheten ökar men når inte nämndens målvärde.", None, None),
        "result:BUN-ER1": ("partly_met", "Två av tre förskoleområden klarar garantitiden.", None, None),
        "result:SN-FR1": ("not_met", "Sjukfrånvaron i socialförvaltningen är oförändrad.",
                          "Schemaläggningen ger fortfarande korta vilotider.", None),
        "result:SN-ER1": ("partly_met", "Nöjdheten är hög men under målvärdet.", None, None),
        "result:KFN-FR1": ("partly_met", "Deltagandet ökar i tätorten men inte i kommundelarna.", None,
                           "Aktiviteterna behöver flyttas närmare de unga som inte deltar."),
        "result:KS-FR1": ("partly_met", "Nästan alla planerade e-tjänster infördes.", None, None),
        "result:SBN-FR1": ("met", "Målvärdet för fossilfria drivmedel nås.", None, None),
        "assignment:U2023-01": ("partly_met", "Arbetet pågår enligt tidsplanen.", None, None),
        "assignment:U2023-02": ("partly_met", "Planen är försenad men väntas klar första halvåret 2024.",
                                "Resursbrist i projektgruppen försenade arbetet.", None),
    },
    "2024": {
        "goal:IM1": ("partly_met", "Andelen som upplever att de kan påverka ökar, men under målvärdet.",
                     "Fler dialoger hölls i kommundelarna.", "De nya dialogformerna når fler unga."),
        "goal:IM2": ("partly_met", "Resultaten förbättras och målvärdet för behörighet nås nästan.",
                     "Lovskolan nådde fler elever än året innan.",
                     "Insatserna ger effekt; tidiga insatser i lägre årskurser bör prioriteras."),
        "goal:IM3": ("met", "Andelen fossilfria drivmedel överträffar målvärdet igen.",
                     "Omställningen följer planen.", "Rätt insats med tydlig klimateffekt."),
        "goal:IM4": ("met", "Antalet e-tjänster överträffar målvärdet.",
                     "Den nya plattformen förkortade införandet.", "Tjänsterna motsvarar invånarnas behov."),
        "goal:IM5": ("partly_met", "Sjukfrånvaron minskar men ligger något över målvärdet.",
                     "Arbetsmiljöinsatserna genomfördes enligt plan.",
                     "Heltidsarbetet i äldreomsorgen ger effekt och bör breddas."),
        "result:BUN-FR1": ("partly_met", "Behörigheten ökar och ligger nära nämndens målvärde.", None, None),
        "result:BUN-ER1": ("met", "Garantitiden klaras i alla förskoleområden.", None, None),
        "result:SN-FR1": ("partly_met", "Sjukfrånvaron minskar men når inte målvärdet.", None, None),
        "result:SN-ER1": ("partly_met", "Nöjdheten ökar och ligger strax under målvärdet.", None, None),
        "result:KFN-FR1": ("met", "Deltagandet ökar i alla kommundelar.", None, None),
        "result:KS-FR1": ("met", "Fler e-tjänster än planerat infördes.", None, None),
        "result:SBN-FR1": ("met", "Målvärdet för fossilfria drivmedel nås.", None, None),
        "assignment:U2023-01": ("met", "Uppdraget är genomfört.", None, None),
        "assignment:U2024-01": ("partly_met", "Heltidsarbetet pågår i två av fyra områden.", None, None),
    },
}
ASSESSED_ON = {"2023": "2024-02-16", "2024": "2025-02-14"}


def _x(text: str) -> str:
    """Mark an invented text as example data."""
    return f"{EXEMPEL}: {text}"


class _Counting:
    """Calls the application's command methods and counts each recorded command."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self.count = 0

    def __getattr__(self, name: str):
        method = getattr(self._app, name)

        def call(*args: Any, **kwargs: Any) -> dict:
            answer = method(*args, **kwargs)
            self.count += 1
            return answer

        return call


def build_demo(app: Any) -> int:
    """Record the demo tenant through the Governance commands; returns how many commands were recorded.

    Idempotent: a tenant that already has a vision already has the demo, and nothing is recorded.
    The tenant is provisioned first if it is not (provisioning is not counted).
    """
    if app.exists("vision"):
        return 0
    if not app.exists("body", "KF"):
        app.provision()
    token = current_actor.set(current_actor.get() or DEMO_ACTOR)
    try:
        cmd = _Counting(app)
        _organisation(cmd)
        _year_2022(cmd)
        _plan_2023(cmd)
        _operational_plans(cmd, 2023, VP_2023)
        _follow_up_2023_spring(cmd)
        _plan_2024(cmd)
        _follow_up_2023_autumn(cmd)
        _operational_plans(cmd, 2024, VP_2024)
        _annual_2023(cmd)
        _follow_up_2024(cmd)
        _annual_2024(cmd)
        return cmd.count
    finally:
        current_actor.reset(token)


# --- the timeline -------------------------------------------------------------------------------


def _organisation(cmd: _Counting) -> None:
    cmd.adopt_vision(VISION, KF_VISION)
    for code, name, kind, parent in BODIES:
        cmd.establish_body(code, name, kind, KF_ORGANISATION, parent=parent)
    cmd.open_term(TERM, 2023, 2026)
    for code, name, unit, direction, kolada in INDICATORS:
        cmd.define_indicator(code, name, unit, direction, kolada_kpi=kolada)


def _set_frames(cmd: _Counting, plan: str, year: int, decision: Decision) -> None:
    for body, amount in FRAMES[(plan, year)].items():
        earmark = EARMARKS.get((body, year))
        earmarks = [{"purpose": EARMARK_PURPOSE, "amount_sek": earmark}] if earmark else []
        cmd.set_frame(plan, body, year, amount, earmarks, decision)


def _year_2022(cmd: _Counting) -> None:
    # MRP 2022–2024 with the 2022 frames (amounts are Exempeldata) that the real 2022 decisions adjust.
    cmd.draft_plan("MRP2022", 2022)
    cmd.adopt_plan("MRP2022", KF_MRP2022)
    _set_frames(cmd, "MRP2022", 2022, KF_MRP2022_FROM_2022)

    # Ansvarsfrihet for 2021, granted to all nämnder on 2022-04-13, after the auditors' reports.
    for body in NAMNDER:
        cmd.submit_audit_report(body, 2021, "grant",
                                _x("revisionsberättelsens datum och text är illustrativa; revisorerna "
                                   "tillstyrker ansvarsfrihet för 2021."),
                                _date("2022-03-28"))
    cmd.adjust_frame("BUN", 2022, 3_900_000, "Tilläggsanslag 3,9 mnkr till barn- och utbildningsnämnden 2022.",
                     KF_BUN_TILLAGG_2022)
    for body in NAMNDER:
        cmd.decide_discharge(body, 2021, True, KF_DISCHARGE_2021)

    # June 2022: MRP 2023–2025 adopted (M+L proposal); KFN's investeringsbudget 2022 +863 000 kr.
    # The domain keeps one frame per body and year, so the investment change is recorded on it.
    cmd.draft_plan("MRP2023", 2023)
    cmd.adopt_plan("MRP2023", KF_MRP2023_JUNE)
    cmd.adjust_frame("KFN", 2022, 863_000, "Utökad investeringsbudget 2022 för kultur- och fritidsnämnden "
                     "med 863 000 kr.", KF_KFN_INVEST_2022)
    # November 2022: SBN's investeringsbudget +38 mnkr 2022 for the new Holmängenskolan. The same
    # decision added 16 mnkr for 2023; the 2023 frame is only set in December, so that part is not recorded.
    cmd.adjust_frame("SBN", 2022, 38_000_000, "Utökad investeringsbudget 2022 med 38 mnkr för nya "
                     "Holmängenskolan (samma beslut: +16 mnkr 2023).", KF_SBN_INVEST_2022)


def _plan_2023(cmd: _Counting) -> None:
    # December 2022: MRP 2023–2025 adopted anew after the election; inriktningsmål fixed (real).
    cmd.adopt_plan("MRP2023", KF_MRP2023)
    for code, title in GOALS:
        cmd.establish_goal(code, TERM, title, KF_MRP2023_FROM_2023)
    # Målvärden, frames and uppdrag in the December MRP are Exempeldata.
    _goal_targets(cmd, "MRP2023", KF_MRP2023_FROM_2023)
    _set_frames(cmd, "MRP2023", 2023, KF_MRP2023_FROM_2023)
    cmd.issue_assignment(
        "U2023-01", "BUN", "Utveckla övergången mellan grundskola och gymnasieskola",
        _x("påhittat uppdrag. Barn- och utbildningsnämnden utvecklar tillsammans med Kunskapsförbundet Väst "
           "övergången från åk 9 till gymnasieskolan."),
        _date("2024-12-31"), KF_MRP2023, goal="IM2")
    cmd.issue_assignment(
        "U2023-02", "SBN", "Plan för laddinfrastruktur vid kommunens verksamhetslokaler",
        _x("påhittat uppdrag. Samhällsbyggnadsnämnden tar fram en plan för laddplatser vid kommunens lokaler."),
        _date("2023-12-31"), KF_MRP2023, goal="IM3")
    cmd.issue_assignment(
        "U2023-03", "KS", "Utreda ett gemensamt kontaktcenter",
        _x("påhittat uppdrag. Kommunstyrelsen utreder ett gemensamt kontaktcenter för invånare och företag."),
        _date("2024-06-30"), KF_MRP2023, goal="IM4")


def _goal_targets(cmd: _Counting, plan: str, decision: Decision) -> None:
    for goal, indicator, values in GOAL_TARGETS[plan]:
        for year, value in values.items():
            cmd.fix_goal_target(goal, indicator, year, Decimal(value), decision)


def _operational_plans(cmd: _Counting, year: int, decisions: dict[str, Decision]) -> None:
    """Each nämnd's verksamhetsplan: results and their målvärden, and for three nämnder the detailed budget."""
    for body, code, kind, goal, title, indicator in RESULTS:
        decision = decisions[body]
        if year == 2023:
            cmd.define_result(body, code, kind, title, decision, goal=goal)
        for target_year, value in RESULT_TARGETS[year][code].items():
            cmd.fix_result_target(body, code, indicator, target_year, Decimal(value), decision)
    for body, areas in AREAS.items():
        decision = decisions[body]
        if year == 2023:
            for area, name in areas:
                cmd.add_area(body, area, name, decision)
        for area, amount in ALLOCATIONS[(body, year)].items():
            earmark = EARMARKS.get((body, year))
            earmarks = ([{"purpose": EARMARK_PURPOSE, "amount_sek": earmark}]
                        if earmark and (body, area) == EARMARKED_AREA else [])
            cmd.set_allocation(body, year, area, amount, decision, earmarks=earmarks)
        cmd.adopt_budget(body, year, decision)
    if year == 2024:
        # A nämnd may give an uppdrag to its own förvaltning.
        cmd.issue_assignment(
            "BUN-U2024-01", "BUF", "Kartlägga förskolans lokalbehov 2025–2030",
            _x("påhittat uppdrag från nämnden till förvaltningen."),
            _date("2024-10-31"), decisions["BUN"], goal="IM2")


def _financial(cmd: _Counting, year: int, periods: tuple[str, ...]) -> None:
    for period in periods:
        index = PERIODS[year].index(period)
        months = PERIOD_MONTHS.get(period[5:], 12)
        for body, forecasts in FORECASTS[year].items():
            forecast = forecasts[index]
            outcome = forecast if months == 12 else round(forecast * months / 12, -5)
            cmd.report_financial(body, period, int(outcome), forecast, _date(REPORTED_ON[period]))


def _status(cmd: _Counting, code: str, status: str, period: str, comment: str) -> None:
    cmd.report_assignment_status(code, status, period, _x(comment), _date(REPORTED_ON[period]))


def _outcomes(cmd: _Counting, year: int) -> None:
    for (indicator, body), value in OUTCOMES[year].items():
        cmd.report_indicator(indicator, str(year), Decimal(value), _date(REPORTED_ON[str(year)]), body=body)


def _assessments(cmd: _Counting, period: str) -> None:
    for subject, (attainment, analysis, inre, yttre) in ASSESSMENTS[period].items():
        cmd.assess(subject, period, attainment, _x(analysis), _date(ASSESSED_ON[period]),
                   internal_efficiency=inre, external_efficiency=yttre)


def _follow_up_2023_spring(cmd: _Counting) -> None:
    _financial(cmd, 2023, ("2023-03", "2023-T1"))
    _status(cmd, "U2023-01", "ongoing", "2023-T1", "arbetsgrupp med Kunskapsförbundet Väst är tillsatt.")
    _status(cmd, "U2023-02", "ongoing", "2023-T1", "inventering av lokalerna pågår.")
    _status(cmd, "U2023-03", "not_started", "2023-T1", "utredningen startar efter sommaren.")
    cmd.adopt_report("interim_t1", 2023, KS_INTERIM_T1_2023)
    cmd.adopt_report("interim_t1", 2023, KF_INTERIM_T1_2023)


def _plan_2024(cmd: _Counting) -> None:
    # KF 2023-06-21: the guideline (real, §104), MRP 2024–2026 (Exempeldata content), an uppdrag revised.
    cmd.adopt_document("RIKTLINJE-STYRNING", KF_GUIDELINE, **GUIDELINE)
    cmd.draft_plan("MRP2024", 2024)
    cmd.adopt_plan("MRP2024", KF_MRP2024)
    _goal_targets(cmd, "MRP2024", KF_MRP2024_FROM_2024)
    _set_frames(cmd, "MRP2024", 2024, KF_MRP2024_FROM_2024)
    cmd.issue_assignment(
        "U2024-01", "SN", "Heltid som norm i äldreomsorgen",
        _x("påhittat uppdrag. Socialnämnden inför heltid som norm i äldreomsorgen för att minska sjukfrånvaron."),
        _date("2026-12-31"), KF_MRP2024, goal="IM5")
    cmd.revise_assignment(
        "U2023-02", KF_REVISE_U2023_02, due=_date("2024-06-30"),
        description=_x("påhittat uppdrag, reviderat. Planen omfattar även laddplatser för kommunens "
                       "egna fordon; tiden förlängs till 2024-06-30."))


def _follow_up_2023_autumn(cmd: _Counting) -> None:
    _financial(cmd, 2023, ("2023-06", "2023-T2"))
    _status(cmd, "U2023-01", "ongoing", "2023-T2", "gemensamma rutiner för överlämning tas fram.")
    _status(cmd, "U2023-02", "ongoing", "2023-T2", "förslag till plan remitteras hösten 2023.")
    _status(cmd, "U2023-03", "ongoing", "2023-T2", "utredningen visar att frågan ingår i ett större arbete.")
    cmd.adopt_report("interim_t2", 2023, KS_INTERIM_T2_2023)
    cmd.adopt_report("interim_t2", 2023, KF_INTERIM_T2_2023)
    cmd.withdraw_assignment("U2023-03", _x("uppdraget tas bort: frågan ingår i kommunens arbete med ny "
                                           "digitaliseringsstrategi."), KF_WITHDRAW_U2023_03)
    _financial(cmd, 2023, ("2023-10",))


def _annual_2023(cmd: _Counting) -> None:
    _financial(cmd, 2023, ("2023",))
    _outcomes(cmd, 2023)
    _status(cmd, "U2023-01", "ongoing", "2023", "arbetet fortsätter enligt plan under 2024.")
    _status(cmd, "U2023-02", "ongoing", "2023", "planen är försenad; ny tidpunkt 2024-06-30.")
    _assessments(cmd, "2023")
    cmd.adopt_report("annual", 2023, KS_ANNUAL_2023)
    for body in NAMNDER:
        remarks = ("revisorerna tillstyrker ansvarsfrihet men påpekar att nämnden bör stärka "
                   "uppföljningen av budgeten." if body == "SN" else "revisorerna tillstyrker ansvarsfrihet.")
        cmd.submit_audit_report(body, 2023, "grant", _x(remarks), _date("2024-03-28"))
    cmd.adopt_report("annual", 2023, KF_ANNUAL_2023)
    for body in NAMNDER:
        remark = _x("fullmäktige instämmer i revisorernas påpekande om budgetuppföljningen.") if body == "SN" else None
        cmd.decide_discharge(body, 2023, True, KF_DISCHARGE_2023, remark=remark)


def _follow_up_2024(cmd: _Counting) -> None:
    _financial(cmd, 2024, ("2024-02", "2024-03", "2024-T1"))
    # SN's forecast exceeds its frame: the nämnd decides measures to stay within it (§7).
    cmd.decide_measure("SN", 2024, _x("åtgärdsplan för ekonomi i balans: färre externa placeringar, "
                                      "översyn av bemanningen i hemtjänsten och anställningsstopp för "
                                      "administrativa tjänster."), SN_MEASURE_2024, amount_sek=14_500_000)
    # An erroneous entry (79 instead of 7,9 %) is retracted, not deleted, and the right value recorded.
    wrong = cmd.report_indicator("IND-SJUK", "2024-T1", Decimal("79"), _date(REPORTED_ON["2024-T1"]))
    cmd.retract(wrong["event_id"], _x("felregistrering: sjukfrånvaron är 7,9 %, inte 79 %. Rätt värde "
                                      "registreras i en ny post."))
    cmd.report_indicator("IND-SJUK", "2024-T1", Decimal("7.9"), _date(REPORTED_ON["2024-T1"]))
    _status(cmd, "U2023-01", "ongoing", "2024-T1", "nya överlämningsrutiner prövas vårterminen 2024.")
    _status(cmd, "U2023-02", "completed", "2024-T1", "planen för laddinfrastruktur är klar.")
    _status(cmd, "U2024-01", "ongoing", "2024-T1", "heltid införs först i två hemtjänstområden.")
    cmd.adopt_report("interim_t1", 2024, KS_INTERIM_T1_2024)
    cmd.adopt_report("interim_t1", 2024, KF_INTERIM_T1_2024)
    _financial(cmd, 2024, ("2024-06",))
    # An omdisposition within the nämnd's own competence (below 5 % of its frame).
    cmd.reallocate("BUN", 2024, "FORSKOLA", "GRUNDSKOLA", 4_500_000,
                   _x("färre barn i förskolan och fler elever i grundskolan än planerat."), BUN_REALLOCATION_2024)
    _financial(cmd, 2024, ("2024-T2",))
    _status(cmd, "U2023-01", "ongoing", "2024-T2", "rutinerna utvärderas under hösten.")
    _status(cmd, "U2024-01", "ongoing", "2024-T2", "heltid införs i ytterligare ett område.")
    _status(cmd, "BUN-U2024-01", "completed", "2024-T2", "kartläggningen är redovisad för nämnden.")
    cmd.adopt_report("interim_t2", 2024, KS_INTERIM_T2_2024)
    cmd.adopt_report("interim_t2", 2024, KF_INTERIM_T2_2024)
    _financial(cmd, 2024, ("2024-10",))


def _annual_2024(cmd: _Counting) -> None:
    # The nämnder's year-end figures for 2024 (reported February 2025); årsredovisning 2024 and the
    # ansvarsprövning are not part of the demo.
    _financial(cmd, 2024, ("2024",))
    _outcomes(cmd, 2024)
    _status(cmd, "U2023-01", "completed", "2024", "uppdraget är genomfört och redovisat.")
    _status(cmd, "U2024-01", "ongoing", "2024", "arbetet fortsätter enligt plan till 2026.")
    _assessments(cmd, "2024")
