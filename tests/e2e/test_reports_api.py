"""Reports over HTTP on the embedded default (jobs run in-process): request, follow, download, and who may.

The demo tenant Vänersborg is created over the API and filled with web.demo.build_demo; every kind and
format is requested once by an auditor, and the tests check the answers against docs/api.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import time
import zipfile
from dataclasses import dataclass, field

import pytest
from apisupport import PREFIX, error_code, field_errors

from web import create_app
from web.demo import build_demo

SLUG = "vanersborg"
OTHER = "grannkommun"

# Every kind and format the brief asks for, by a readable label.
REQUESTS: dict[str, dict] = {
    "discharge_basis-pdf": {"kind": "discharge_basis", "body": "BUN", "year": 2023, "format": "pdf"},
    "discharge_basis-html": {"kind": "discharge_basis", "body": "BUN", "year": 2023, "format": "html"},
    "discharge_basis-csv": {"kind": "discharge_basis", "body": "BUN", "year": 2023, "format": "csv"},
    "interim-pdf": {"kind": "interim", "year": 2024, "period": "T1", "format": "pdf"},
    "annual-html": {"kind": "annual", "year": 2023, "format": "html"},
    "annual-csv": {"kind": "annual", "year": 2023, "format": "csv"},
    "ledger_export-jsonl": {"kind": "ledger_export", "format": "jsonl"},
}
MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html", "csv": "application/zip",
               "jsonl": "application/x-ndjson"}
EXTENSIONS = {"pdf": "pdf", "html": "html", "csv": "zip", "jsonl": "jsonl"}


@dataclass
class Demo:
    """The app with the demo tenant, its users' tokens, and the reports the auditor requested."""

    app: object
    client: object
    tokens: dict[str, str]
    requested: dict[str, dict] = field(default_factory=dict)

    def headers(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def post(self, body: dict, who: str = "auditor", slug: str = SLUG):
        return self.client.post(f"{PREFIX}/t/{slug}/reports", json=body, headers=self.headers(who))

    def get(self, path: str, who: str = "auditor", slug: str = SLUG):
        url = path if path.startswith(PREFIX) else f"{PREFIX}/t/{slug}{path}"
        return self.client.get(url, headers=self.headers(who))

    def head(self) -> dict:
        answer = self.get("/ledger")
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def wait_idle(self) -> None:
        self.app.extensions["styrkedja_reports"]["queue"].wait_idle()

    def finished(self, rid: str, timeout: float = 60.0) -> dict:
        """Poll the status until the report is finished (or failed, which fails the test)."""
        deadline = time.monotonic() + timeout
        while True:
            self.wait_idle()
            answer = self.get(f"/reports/{rid}")
            assert answer.status_code == 200, answer.get_json()
            status = answer.get_json()
            assert status["status"] != "failed", status
            if status["status"] == "finished":
                return status
            assert time.monotonic() < deadline, f"report {rid} did not finish: {status}"
            time.sleep(0.05)

    def artifacts(self):
        return self.app.extensions["styrkedja_reports"]["store"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    """Vänersborg with an admin, an auditor and a viewer; grannkommun with its own admin; all reports requested."""
    token = "reports-admin-" + secrets.token_hex(8)
    flask_app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("reports") / "data"), "ADMIN_TOKEN": token,
                            "REDIS_URL": None, "DATABASE_URL": None})
    client = flask_app.test_client()
    platform = {"Authorization": f"Bearer {token}"}
    for slug, name, code in ((SLUG, "Vänersborgs kommun", "1487"), (OTHER, "Grannkommunen", "1488")):
        answer = client.post(f"{PREFIX}/tenants", headers=platform,
                             json={"slug": slug, "name": name, "municipality_code": code})
        assert answer.status_code == 201, answer.get_json()
    assert build_demo(flask_app.extensions["styrkedja"].get(SLUG)) > 0
    tokens = {}
    for name, slug, role in (("admin", SLUG, "admin"), ("auditor", SLUG, "auditor"), ("viewer", SLUG, "viewer"),
                             ("other_admin", OTHER, "admin")):
        answer = client.post(f"{PREFIX}/t/{slug}/users", headers=platform, json={
            "email": f"{name}@{slug}.se", "name": name, "role": role, "bodies": []})
        assert answer.status_code == 201, answer.get_json()
        tokens[name] = answer.get_json()["token"]
    world = Demo(flask_app, client, tokens)
    for label, body in REQUESTS.items():
        head = world.head()
        answer = world.post(body)
        world.requested[label] = {"head": head, "status_code": answer.status_code, "answer": answer.get_json()}
    yield world
    world.wait_idle()
    flask_app.extensions["styrkedja"].close()


@pytest.fixture(scope="module")
def finished(demo) -> dict[str, dict]:
    """Each requested report's finished status and its downloaded file."""
    out = {}
    for label, requested in demo.requested.items():
        assert requested["status_code"] == 202, requested
        status = demo.finished(requested["answer"]["id"])
        download = demo.get(status["file_url"])
        out[label] = {"status": status, "download": download, "data": download.get_data()}
    return out


def manifests(demo: Demo) -> set[str]:
    folder = demo.artifacts().root / SLUG
    return {p.name for p in folder.glob("*.json")} if folder.exists() else set()


# --- requesting, following, downloading --------------------------------------------------------


@pytest.mark.parametrize("label", REQUESTS)
def test_a_report_request_answers_202_with_its_id_and_status_url(demo, label):
    requested = demo.requested[label]
    assert requested["status_code"] == 202, requested
    answer = requested["answer"]
    assert set(answer) == {"id", "status_url"}
    assert answer["id"].isalnum()
    assert answer["status_url"] == f"{PREFIX}/t/{SLUG}/reports/{answer['id']}"


def test_every_kind_and_format_gets_its_own_report_id(demo):
    assert len({r["answer"]["id"] for r in demo.requested.values()}) == len(REQUESTS)


@pytest.mark.parametrize("label", REQUESTS)
def test_each_report_finishes_with_progress_100_on_the_ledger_head_at_request_time(demo, finished, label):
    status, head = finished[label]["status"], demo.requested[label]["head"]
    assert status["status"] == "finished"
    assert status["progress"] == 100
    assert status["id"] == demo.requested[label]["answer"]["id"]
    assert status["kind"] == REQUESTS[label]["kind"]
    assert status["format"] == REQUESTS[label]["format"]
    assert status["based_on"] == {"position": head["head_position"], "hash": head["head_hash"]}
    assert status["file_url"] == f"{demo.requested[label]['answer']['status_url']}/file"
    assert not status.get("error")


@pytest.mark.parametrize("label", REQUESTS)
def test_the_downloaded_file_has_its_media_type_and_its_sha256_in_the_header(finished, demo, label):
    download, data, status = finished[label]["download"], finished[label]["data"], finished[label]["status"]
    fmt = REQUESTS[label]["format"]
    assert download.status_code == 200
    assert download.mimetype == MEDIA_TYPES[fmt]
    assert data, "an empty artifact"
    digest = hashlib.sha256(data).hexdigest()
    assert download.headers["X-Content-SHA256"] == digest
    assert status["sha256"] == digest
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    position = demo.requested[label]["head"]["head_position"]
    covers = "".join(f"-{REQUESTS[label][key]}" for key in ("body", "year", "period") if key in REQUESTS[label])
    assert f"{SLUG}-{REQUESTS[label]['kind']}{covers}-{position}.{EXTENSIONS[fmt]}" in disposition


@pytest.mark.parametrize("label", [label for label in REQUESTS if label.endswith("-html")])
def test_an_html_report_is_served_with_a_single_charset_parameter(finished, label):
    """send_file adds the charset to a text/ type itself; a media type that already has one got it twice."""
    assert finished[label]["download"].headers["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("label", [label for label in REQUESTS if label.endswith("-pdf")])
def test_a_pdf_report_is_a_pdf(finished, label):
    assert finished[label]["data"].startswith(b"%PDF")


@pytest.mark.parametrize("label", [label for label in REQUESTS if label.endswith("-html")])
def test_an_html_report_is_an_html_document_in_utf8(finished, label):
    text = finished[label]["data"].decode("utf-8")
    assert "<html" in text.lower()
    assert "Vänersborg" in text


@pytest.mark.parametrize("label", [label for label in REQUESTS if label.endswith("-csv")])
def test_a_csv_report_is_a_zip_of_csv_files(finished, label):
    with zipfile.ZipFile(io.BytesIO(finished[label]["data"])) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
    assert names and all(name.endswith(".csv") for name in names), names


def test_the_ledger_export_report_is_the_ledger_up_to_its_position_with_a_header(demo, finished):
    lines = finished["ledger_export-jsonl"]["data"].decode("utf-8").splitlines()
    header, events = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    head = demo.requested["ledger_export-jsonl"]["head"]
    assert header["format"] == "styrkedja-ledger/1"
    assert header["tenant"] == SLUG
    assert (header["head_position"], header["head_hash"]) == (head["head_position"], head["head_hash"])
    assert [e["position"] for e in events] == list(range(1, head["head_position"] + 1))
    assert events[-1]["hash"] == head["head_hash"]


@pytest.mark.parametrize("label", REQUESTS)
def test_the_same_request_again_answers_the_same_id_and_leaves_the_file_byte_identical(demo, finished, label):
    status = finished[label]["status"]
    path = demo.artifacts().file_path(SLUG, status["id"], REQUESTS[label]["format"])
    before = path.stat().st_mtime_ns
    assert demo.head() == demo.requested[label]["head"], "the ledger moved; the same request would differ"
    again = demo.post(REQUESTS[label])
    assert again.status_code == 202, again.get_json()
    assert again.get_json() == demo.requested[label]["answer"]
    demo.wait_idle()
    assert demo.finished(status["id"]) == status
    assert demo.get(status["file_url"]).get_data() == finished[label]["data"]
    assert path.read_bytes() == finished[label]["data"]
    assert path.stat().st_mtime_ns == before


def test_a_request_with_known_at_builds_on_the_position_recorded_by_then(demo):
    events = demo.get("/events?after=99&limit=1").get_json()
    known_at = events[0]["recorded_at"]
    everything = demo.get("/events?limit=1000").get_json()
    expected = max(e["position"] for e in everything if e["recorded_at"] <= known_at)
    head = demo.head()
    assert 100 <= expected < head["head_position"]
    answer = demo.post({"kind": "ledger_export", "format": "jsonl", "known_at": known_at})
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["id"] != demo.requested["ledger_export-jsonl"]["answer"]["id"]
    status = demo.finished(answer.get_json()["id"])
    assert status["known_at"] is not None
    assert status["based_on"] == {"position": expected, "hash": everything[expected - 1]["hash"]}
    lines = demo.get(status["file_url"]).get_data().decode("utf-8").splitlines()
    assert json.loads(lines[0])["head_position"] == expected
    assert len(lines) == expected + 1


def test_a_discharge_basis_with_known_at_is_built_on_the_earlier_position(demo):
    known_at = demo.get("/events?after=199&limit=1").get_json()[0]["recorded_at"]
    answer = demo.post({**REQUESTS["discharge_basis-html"], "known_at": known_at})
    assert answer.status_code == 202, answer.get_json()
    status = demo.finished(answer.get_json()["id"])
    assert 200 <= status["based_on"]["position"] < demo.head()["head_position"]


# --- who may ------------------------------------------------------------------------------------


def test_a_viewer_may_request_an_interim_report(demo):
    answer = demo.post({"kind": "interim", "year": 2024, "period": "T2", "format": "html"}, who="viewer")
    assert answer.status_code == 202, answer.get_json()
    status = demo.finished(answer.get_json()["id"])
    assert demo.get(status["file_url"], who="viewer").status_code == 200


def test_a_viewer_may_not_request_a_discharge_basis(demo):
    before = manifests(demo)
    answer = demo.post(REQUESTS["discharge_basis-pdf"], who="viewer")
    assert answer.status_code == 403
    assert error_code(answer.get_json()) == "forbidden"
    assert manifests(demo) == before


def test_a_request_without_a_token_answers_401(demo):
    answer = demo.client.post(f"{PREFIX}/t/{SLUG}/reports", json=REQUESTS["annual-html"])
    assert answer.status_code == 401


def test_a_user_of_another_tenant_gets_404_on_requesting_a_report_of_this_tenant(demo):
    before = manifests(demo)
    answer = demo.post(REQUESTS["annual-html"], who="other_admin")
    assert answer.status_code == 404
    assert error_code(answer.get_json()) == "not_found"
    assert manifests(demo) == before


def test_a_user_of_another_tenant_gets_404_on_this_tenants_report_and_its_file(demo, finished):
    rid = finished["annual-html"]["status"]["id"]
    for path in (f"/reports/{rid}", f"/reports/{rid}/file"):
        for slug in (SLUG, OTHER):
            answer = demo.get(path, who="other_admin", slug=slug)
            assert answer.status_code == 404, (slug, path, answer.get_json())
            assert error_code(answer.get_json()) == "not_found"


# --- refused requests ---------------------------------------------------------------------------


def refused(demo: Demo, body: dict, status: int) -> dict:
    """Send a report request that must be refused; check that it left no manifest behind."""
    before = manifests(demo)
    answer = demo.post(body)
    assert answer.status_code == status, answer.get_json()
    assert manifests(demo) == before
    return answer.get_json()


def test_a_discharge_basis_without_a_body_is_refused_with_400(demo):
    field_errors(refused(demo, {"kind": "discharge_basis", "year": 2023, "format": "pdf"}, 400), "body")


@pytest.mark.parametrize(("kind", "fmt"), [("ledger_export", "pdf"), ("ledger_export", "csv"),
                                           ("interim", "jsonl"), ("annual", "jsonl"), ("discharge_basis", "jsonl")])
def test_a_format_the_kind_does_not_come_in_is_refused_with_400(demo, kind, fmt):
    body = {"kind": kind, "format": fmt, "year": 2023, "body": "BUN" if kind == "discharge_basis" else None}
    field_errors(refused(demo, {k: v for k, v in body.items() if v is not None}, 400), "format")


@pytest.mark.parametrize("kind", ["discharge_basis", "interim", "annual"])
def test_a_report_on_a_year_without_the_year_is_refused_with_400(demo, kind):
    body = {"kind": kind, "format": "html", **({"body": "BUN"} if kind == "discharge_basis" else {})}
    field_errors(refused(demo, body, 400), "year")


@pytest.mark.parametrize("body", [{"kind": "quarterly", "year": 2023, "format": "pdf"},
                                  {"kind": "annual", "year": 2023, "format": "docx"},
                                  {"kind": "annual", "year": 2023, "format": "pdf", "colour": "red"}])
def test_an_unknown_kind_format_or_field_is_refused_with_400(demo, body):
    assert "errors" in refused(demo, body, 400)


def test_an_unknown_body_answers_422_unknown_reference(demo):
    body = {**REQUESTS["discharge_basis-pdf"], "body": "NOSUCH"}
    assert error_code(refused(demo, body, 422)) == "unknown_reference"


# --- unknown and unfinished reports -------------------------------------------------------------


@pytest.mark.parametrize("rid", ["0" * 32, "f" * 32, "not-an-id", "..%2F..%2Fplatform"])
def test_an_unknown_report_id_answers_404_for_its_status_and_its_file(demo, rid):
    for path in (f"/reports/{rid}", f"/reports/{rid}/file"):
        answer = demo.get(path)
        assert answer.status_code == 404, (path, answer.get_json())
        assert error_code(answer.get_json()) == "not_found"


@pytest.mark.parametrize("state", ["queued", "started"])
def test_the_file_of_a_report_not_yet_finished_answers_409_report_not_ready(demo, state):
    rid = f"{state}0000000000000000000000000"[:32]
    demo.artifacts().save_manifest(SLUG, rid, {"id": rid, "status": state, "progress": 0, "kind": "annual",
                                               "format": "pdf", "as_of": "2023-12-31", "known_at": None,
                                               "based_on": {"position": 1}})
    status = demo.get(f"/reports/{rid}")
    assert status.status_code == 200
    assert status.get_json()["status"] == state
    assert "file_url" not in status.get_json() or status.get_json()["file_url"] is None
    answer = demo.get(f"/reports/{rid}/file")
    assert answer.status_code == 409
    assert error_code(answer.get_json()) == "report_not_ready"


def _report_text(demo: Demo, body: dict) -> str:
    answer = demo.post(body)
    assert answer.status_code == 202, answer.get_json()
    status = demo.finished(answer.get_json()["id"])
    html = demo.get(status["file_url"]).get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ")


def test_a_period_report_asked_for_without_a_date_shows_what_was_reported_for_the_period(demo):
    # Figures of a period are reported after it ends: as of its last day they were not there yet, and the
    # reports showed the month before (March for T1, October for the year) and "not adopted".
    interim = _report_text(demo, {"kind": "interim", "year": 2024, "period": "T1", "format": "html"})
    assert "T1 2024 (jan–apr), 2024-05-1" in interim  # each body's figures are its T1 report
    assert "345 300 000" in interim and "382 500 000" in interim  # SN's and BUN's outcome for T1
    behandlad = interim[interim.index("Behandlad"):][:200]
    assert "§112" in behandlad and "§95" in behandlad, behandlad  # adopted by KS and KF
    annual = _report_text(demo, {"kind": "annual", "year": 2023, "format": "html"})
    assert "1 102 300 000" in annual  # BUN's outcome for the whole of 2023
    behandlad = annual[annual.index("Behandlad"):][:200]
    assert "§52" in behandlad and "§45" in behandlad, behandlad  # adopted by KS and KF
