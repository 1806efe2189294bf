"""The coordinator's local page (qsp_eval.app, ``qsp-eval app``).

Fast tests drive the server over HTTP (urllib) with a stand-in report worker that
speaks the real worker's protocol; the slow test drives the real page with headless
Chromium through selenium, uploads a workbook with mistakes, then the corrected one,
builds the real report and downloads the zip (skipped when chromium/chromedriver or
selenium are missing).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from qsp_eval import app
from qsp_eval.errors import DataError, ParameterError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example"
TABLES = ("sessions", "visits", "services", "distributions", "survey_responses")
EMAIL = "camille.dupont@example.org"


# ---------------------------------------------------------------------------
# Workbooks: data/example as one .xlsx (evaluation as a key/value sheet), with mistakes
# ---------------------------------------------------------------------------
def _flatten(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _flatten(v, f"{prefix}{k}.")
    elif isinstance(obj, list):
        if all(not isinstance(v, dict | list) for v in obj):
            yield prefix[:-1], "; ".join(str(v) for v in obj)
        else:
            for i, v in enumerate(obj):
                yield from _flatten(v, f"{prefix}{i}.")
    else:
        yield prefix[:-1], obj


def _example_workbook(path: Path, *, with_theming_start: bool = True,
                      until: str | None = None) -> Path:
    """data/example as one workbook; ``until`` (ISO date) keeps the sessions up to that day."""
    import pandas as pd
    import yaml

    ev = yaml.safe_load((EXAMPLE / "evaluation.yml").read_text(encoding="utf-8"))
    rows = [(k, str(v)) for k, v in _flatten(ev)
            if with_theming_start or not k.startswith("change.")]
    with pd.ExcelWriter(path) as w:
        for t in TABLES:
            df = pd.read_csv(EXAMPLE / f"{t}.csv", dtype=str, keep_default_na=False)
            if until is not None:
                if t == "survey_responses":
                    continue
                df = df[(df["date"] != "") & (df["date"] <= until)]
            df.to_excel(w, sheet_name=t, index=False)
        pd.DataFrame(rows, columns=["key", "value"]).to_excel(w, sheet_name="evaluation",
                                                              index=False)
    return path


def _with_mistakes(good: Path, bad: Path) -> Path:
    """Four planted mistakes: an impossible date, a gender typo, a bad age band, an e-mail column."""
    import openpyxl

    wb = openpyxl.load_workbook(good)
    v = wb["visits"]
    head = [c.value for c in v[1]]
    v.cell(2, head.index("gender") + 1, "femmme")
    v.cell(3, head.index("age_band") + 1, "abc")
    v.cell(1, len(head) + 1, "email")
    v.cell(5, len(head) + 1, EMAIL)
    s = wb["sessions"]
    s.cell(4, [c.value for c in s[1]].index("date") + 1, "31/02/2023")
    wb.save(bad)
    return bad


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    if not (EXAMPLE / "sessions.csv").is_file():
        pytest.skip("data/example is not generated yet (qsp-eval simulate)")
    d = tmp_path_factory.mktemp("books")
    good = _example_workbook(d / "ma_saisie.xlsx")
    no_start = _example_workbook(d / "ma_saisie_corrigee.xlsx", with_theming_start=False)
    bad = _with_mistakes(good, d / "ma_saisie_erreurs.xlsx")
    return {"good": good, "no_start": no_start, "bad": bad}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Two months of the example (quick to load) for the tests of the server."""
    if not (EXAMPLE / "sessions.csv").is_file():
        pytest.skip("data/example is not generated yet (qsp-eval simulate)")
    d = tmp_path_factory.mktemp("small")
    good = _example_workbook(d / "ma_saisie.xlsx", until="2021-12-31")
    no_start = _example_workbook(d / "ma_saisie_corrigee.xlsx", with_theming_start=False,
                                 until="2021-12-31")
    bad = _with_mistakes(good, d / "ma_saisie_erreurs.xlsx")
    return {"good": good, "no_start": no_start, "bad": bad}


# ---------------------------------------------------------------------------
# Upload checks
# ---------------------------------------------------------------------------
def _zip_bytes(members: dict) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_upload_refusals_are_sentences(tmp_path):
    ws = app.Workspace(tmp_path)
    try:
        with pytest.raises(ParameterError) as e:
            app.receive_upload(ws, "notes.txt", b"hello")
        assert "n'est pas un classeur" in e.value.format("fr")
        assert "is not a workbook" in e.value.format("en")
        with pytest.raises(ParameterError) as e:
            app.receive_upload(ws, "ma_saisie.xlsx", b"")
        assert "est vide" in e.value.format("fr")
        # 2 500 000 bytes against a limit of 2 000 000: "2,5 Mo", "2 Mo" (1 Mo = 10^6 octets)
        with pytest.raises(ParameterError) as e:
            app.receive_upload(ws, "gros.xlsx", b"PK\x03\x04" + b"0" * 2_499_996,
                               max_bytes=2_000_000)
        assert "pèse 2,5 Mo : la limite est de 2 Mo" in e.value.format("fr")
        assert "weighs 2.5 MB: the limit is 2 MB" in e.value.format("en")
        # a CSV renamed .xlsx: its content is not a zip container
        with pytest.raises(ParameterError) as e:
            app.receive_upload(ws, "renomme.xlsx", b"date;status\n")
        assert "son contenu n'est pas celui d'un classeur" in e.value.format("fr")
        assert ws.slot is None and list(ws.root.iterdir()) == []  # nothing was stored
    finally:
        ws.close()


def test_upload_names_cannot_escape_the_slot(tmp_path):
    ws = app.Workspace(tmp_path)
    try:
        src, name = app.receive_upload(ws, "../../etc/ma saisie.xlsx", b"PK\x03\x04rest")
        assert name == "ma saisie.xlsx"
        assert src.parent == ws.slot / "upload"
    finally:
        ws.close()


def test_zip_of_a_data_folder_gives_the_folder(tmp_path):
    ws = app.Workspace(tmp_path)
    try:
        data = _zip_bytes({"__MACOSX/._x": b"junk", "donnees/sessions.csv": b"date\n",
                           "donnees/visits.csv": b"date\n", "donnees/evaluation.yml": b"a: 1\n",
                           "donnees/vieux/sessions.csv": b"date\n"})
        src, name = app.receive_upload(ws, "donnees.zip", data)
        assert name == "donnees.zip"
        assert src.name == "donnees" and (src / "sessions.csv").is_file()
        assert not any("MACOSX" in str(p) for p in ws.slot.rglob("*"))
        # a zip holding one workbook gives the workbook
        src, _ = app.receive_upload(ws, "un.zip", _zip_bytes({"a/saisie.xlsx": b"PK"}))
        assert src.name == "saisie.xlsx"
        with pytest.raises(ParameterError, match="holds no data"):
            app.receive_upload(ws, "photos.zip", _zip_bytes({"a.jpg": b"x"}))
    finally:
        ws.close()


def test_unsafe_or_oversized_zips_are_refused(tmp_path):
    ws = app.Workspace(tmp_path)
    try:
        with pytest.raises(DataError, match="file name refused"):
            app.receive_upload(ws, "evil.zip", _zip_bytes({"../../evil.csv": b"x"}))
        assert not (tmp_path / "evil.csv").exists()
        with pytest.raises(DataError, match="at most 200 are accepted"):
            app.receive_upload(ws, "many.zip", _zip_bytes({f"{i}.csv": b"x" for i in range(201)}))
        # 3 000 zero bytes compress to a few bytes: counted once uncompressed, not trusted
        with pytest.raises(DataError, match="once uncompressed"):
            app.receive_upload(ws, "bomb.zip", _zip_bytes({"sessions.csv": b"0" * 3000}),
                               max_unzipped=2000)
        with pytest.raises(DataError, match="cannot be read"):
            app.receive_upload(ws, "broken.zip", b"PK\x03\x04 not really")
    finally:
        ws.close()


# ---------------------------------------------------------------------------
# The temporary folder
# ---------------------------------------------------------------------------
def test_workspace_replaces_and_removes_everything(tmp_path):
    ws = app.Workspace(tmp_path)
    assert ws.root.parent == tmp_path and oct(ws.root.stat().st_mode & 0o777) == "0o700"
    first = ws.new_slot()
    (first / "upload").mkdir()
    (first / "upload" / "a.xlsx").write_bytes(b"x")
    second = ws.new_slot()
    assert not first.exists() and second.exists()
    ws.close()
    assert list(tmp_path.iterdir()) == []
    ws.close()  # idempotent


def test_folders_of_killed_apps_are_removed_at_start(tmp_path):
    # pid 4194304 is above Linux's largest pid (pid_max <= 2**22): no such process
    dead = tmp_path / "qsp-eval-app-4194304-abc"
    (dead / "1").mkdir(parents=True)
    alive = tmp_path / f"qsp-eval-app-{os.getppid()}-xyz"  # our parent: alive
    alive.mkdir()
    other = tmp_path / "something-else"
    other.mkdir()
    ws = app.Workspace(tmp_path)
    try:
        assert ws.removed_stale == [dead]
        assert not dead.exists() and alive.exists() and other.exists()
    finally:
        ws.close()


# ---------------------------------------------------------------------------
# Validation as a table
# ---------------------------------------------------------------------------
def test_split_message_on_the_loader_wording():
    assert app.split_message("date invalide : attendu jj/mm/aaaa (ex. 17/05/2023)") == \
        ("date invalide", "jj/mm/aaaa (ex. 17/05/2023)")
    assert app.split_message("invalid date: expected dd/mm/yyyy", "en") == \
        ("invalid date", "dd/mm/yyyy")
    assert app.split_message("valeur inconnue ; valeurs permises : « 18-24 ans »") == \
        ("valeur inconnue", "« 18-24 ans »")
    assert app.split_message("a whole number is expected (0, 1, 2...)", "en") == \
        ("", "a whole number (0, 1, 2...)")
    assert app.split_message("aucune permanence à cette date") == \
        ("aucune permanence à cette date", "")


def test_check_source_lists_the_planted_mistakes_with_the_email_masked(small):
    res = app.check_source(small["bad"], name="ma_saisie_erreurs.xlsx")
    assert res["valid"] is False
    rows = {(r["sheet"], r["row"], r["column"]): r for r in res["problems"]}
    date = rows[("sessions", 4, "date")]
    assert date["value"] == "31/02/2023"
    assert date["what"]["fr"] == "date invalide"
    assert date["expected"]["fr"].startswith("jj/mm/aaaa")
    gender = rows[("visits", 2, "gender")]
    assert gender["value"] == "femmme" and "Femme cis" in gender["what"]["fr"]
    assert "« Homme cis »" in gender["expected"]["fr"]
    assert rows[("visits", 3, "age_band")]["value"] == "abc"
    email = rows[("visits", 1, "email")]  # the column is refused, its content never shown
    assert email["value"] is None and "identifiantes" in email["what"]["fr"]
    assert EMAIL not in json.dumps(res, ensure_ascii=False)
    assert "camille" not in json.dumps(res, ensure_ascii=False).lower()


def test_check_source_of_a_valid_workbook(small):
    res = app.check_source(small["no_start"], name="ma_saisie_corrigee.xlsx")
    assert res["valid"] is True
    assert res["theming_start"] is None  # the change rows were left out
    assert res["summary"]["fr"][0] == "Source : ma_saisie_corrigee.xlsx"  # not the temp path
    # the 9 weekly sessions of 2021 in sessions.csv (03/11 to 29/12)
    assert "  sessions : 9 ligne(s)" in res["summary"]["fr"]
    res = app.check_source(small["good"], name="ma_saisie.xlsx")
    assert res["theming_start"] == "2024-01-10"  # evaluation.yml: change.start


def test_an_empty_workbook_is_a_sentence(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.save(tmp_path / "vide.xlsx")
    res = app.check_source(tmp_path / "vide.xlsx", name="vide.xlsx")
    assert res["valid"] is False
    # one file-level problem: shown as a sentence, not as a table
    assert "problems" not in res
    assert "« sessions »" in res["message"]["fr"]  # the loader names the missing sheet
    assert "Traceback" not in json.dumps(res, ensure_ascii=False)


def test_progress_fraction_counts_the_notebooks():
    # 6 notebooks share 85 % after the 5 % of the check: 2 done -> 0.05 + 0.85 * 2/6
    lines = ["Vérification des données...", "[1/6] a ...", "      terminé en 1 s",
             "[2/6] b ...", "      terminé en 1 s"]
    assert app.progress_fraction(lines) == round(0.05 + 0.85 * 2 / 6, 4)
    assert app.progress_fraction(lines + ["Assemblage du rapport..."]) == 0.92


def test_page_text_is_french_first_and_complete():
    for key, (fr, en) in app.PAGE_TEXT.items():
        assert fr and en, key
    assert app.PAGE_TEXT["step1"][0] == "1. Déposez votre classeur"


# ---------------------------------------------------------------------------
# The server over HTTP, with a stand-in report worker
# ---------------------------------------------------------------------------
FAKE_WORKER = '''
import json, sys
from pathlib import Path
import qsp_eval.app as a
from qsp_eval.errors import ParameterError
from qsp_eval.io import write_text, write_zip

MODE = {mode!r}

def fake(source, out, lang, parameters, key_file, say):
    say("Vérification des données...")
    say("[1/1] 00-fake ...")
    if MODE == "parameter":
        raise ParameterError("Début de la thématisation hors des données.", "Theming start outside the data.")
    if MODE == "bug":
        raise RuntimeError("boom near {email}")
    if MODE == "crash":
        import os
        os._exit(3)
    print("stray print from a library")
    out = Path(out)
    write_text("<html><body><h1>Rapport</h1></body></html>", out / "report.html")
    write_text("a,b\\n1,2\\n", out / "tables" / "t.csv")
    write_text(json.dumps({{"parameters": parameters, "lang": lang, "source": Path(source).name}}),
               out / "run.json")
    write_zip(out, out.parent / a.ZIP_NAME, root="rapport")
    return 0.5

a._worker_main(run=fake)
'''


def _fake_command(tmp_path, mode="ok") -> tuple:
    script = tmp_path / f"fake_worker_{mode}.py"
    script.write_text(FAKE_WORKER.format(mode=mode, email=EMAIL), encoding="utf-8")
    return (str(script),)


class Client:
    def __init__(self, server):
        self.server = server
        self.base = server.url.rstrip("/")
        page = self.get("/")[1].decode("utf-8")
        self.token = json.loads(re.search(r'id="qsp-config">(.*?)</script>', page).group(1))[
            "token"]

    def request(self, path, data=None, headers=None, method=None):
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {},
                                     method=method or ("POST" if data is not None else "GET"))
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def get(self, path):
        return self.request(path)

    def post(self, path, data=b"", headers=None):
        status, body, _ = self.request(path, data, {"X-QSP-Token": self.token, **(headers or {})})
        return status, json.loads(body or b"{}")

    def upload(self, path: Path, name=None):
        return self.post("/api/upload", path.read_bytes(),
                         {"X-Filename": urllib.request.quote(name or path.name)})

    def run(self, **form):
        return self.post("/api/run", json.dumps(form).encode(), {"Content-Type": "application/json"})

    def wait(self, timeout=60):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            st = json.loads(self.get("/api/status")[1])
            if st["state"] != "running":
                return st
            time.sleep(0.1)
        raise AssertionError("the report did not finish")


@pytest.fixture
def served(tmp_path):
    temp = tmp_path / "temp"
    servers = []

    def start(mode="ok", **kw):
        s = app.AppServer(temp_parent=temp, command=_fake_command(tmp_path, mode), **kw).start()
        servers.append(s)
        return s, Client(s)

    yield start, temp
    for s in servers:
        s.stop()


def test_page_is_local_french_and_fetches_nothing(served):
    server, c = served[0]()
    assert server.url.startswith("http://127.0.0.1:")
    status, body, headers = c.get("/")
    page = body.decode("utf-8")
    assert status == 200 and '<html lang="fr">' in page
    assert "1. Déposez votre classeur" in page  # in the embedded texts
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # no external asset
    assert "https://" not in page and "http://" not in page
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert headers["Cache-Control"] == "no-store"
    # the socket is bound to 127.0.0.1 only
    import socket

    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", server.port), timeout=2):
        pass


def test_requests_from_elsewhere_are_refused(served, small):
    server, c = served[0]()
    status, _, _ = c.request("/", headers={"Host": f"evil.example:{server.port}"})
    assert status == 403  # DNS rebinding: a page of another site cannot read ours
    status, body = c.post("/api/upload", b"x", {"X-QSP-Token": "wrong"})
    assert status == 403
    status, _, _ = c.request("/api/upload", small["bad"].read_bytes(),
                             {"X-Filename": "ma_saisie.xlsx"})  # no token: another site's form
    assert status == 403
    assert list(server.workspace.root.iterdir()) == []


def test_bad_workbook_then_corrected_then_report_and_zip(served, small):
    server, c = served[0]()
    status, res = c.run()
    assert status == 409 and "valide" in res["message"]["fr"]  # nothing runs before valid data

    status, res = c.upload(small["bad"], "ma_saisie.xlsx")
    assert status == 200 and res["valid"] is False and res["n_problems"] >= 4
    assert EMAIL not in json.dumps(res)
    status, res = c.run()
    assert status == 409  # still nothing runs

    status, res = c.upload(small["no_start"], "ma_saisie.xlsx")
    assert res["valid"] is True and res["theming_start"] is None
    status, res = c.run(lang="fr")
    assert status == 400 and "début de la thématisation" in res["message"]["fr"]
    status, res = c.run(lang="fr", theming_start="31/02/2024")
    assert status == 400 and "n'est pas une date" in res["message"]["fr"]
    status, res = c.run(lang="fr", theming_start="10/01/2024")
    assert status == 200
    st = c.wait()
    assert st["state"] == "done", st
    assert st["progress"] == 1.0
    # the stand-in wrote what it received: the date typed dd/mm/yyyy reaches the report ISO
    _, body, _ = c.get(st["report_url"].replace("report.html", "run.json"))
    assert json.loads(body) == {"parameters": {"theming_start": "2024-01-10"}, "lang": "fr",
                                "source": "ma_saisie.xlsx"}
    status, body, headers = c.get(st["report_url"])
    assert status == 200 and b"<h1>Rapport</h1>" in body
    assert "script-src" not in headers["Content-Security-Policy"]  # no script in the report
    status, body, headers = c.get(st["zip_url"])
    assert status == 200 and headers["Content-Type"] == "application/zip"
    assert "attachment" in headers["Content-Disposition"]
    import io

    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert names == ["rapport/report.html", "rapport/run.json", "rapport/tables/t.csv"]
    # a path outside the report folder is not served
    status, _, _ = c.get(st["report_url"].replace("report.html", "../upload/ma_saisie.xlsx"))
    assert status == 404

    # a new upload removes the previous workbook and report
    old_slot = server.workspace.slot
    c.upload(small["bad"], "autre.xlsx")
    assert not old_slot.exists()
    assert c.get(st["zip_url"])[0] == 404


def test_a_zipped_data_folder_is_checked_like_the_folder(served, tmp_path):
    if not (EXAMPLE / "sessions.csv").is_file():
        pytest.skip("data/example is not generated yet (qsp-eval simulate)")
    server, c = served[0]()
    z = tmp_path / "donnees.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(EXAMPLE.iterdir()):
            zf.write(f, f"example/{f.name}")
    status, res = c.upload(z)
    assert status == 200 and res["valid"] is True, res
    assert res["theming_start"] == "2024-01-10"  # data/example/evaluation.yml
    assert res["summary"]["fr"][0] == "Source : donnees.zip"


def test_workbook_giving_the_start_ignores_the_field(served, small):
    server, c = served[0]()
    c.upload(small["good"])
    c.run(lang="en", theming_start="")
    st = c.wait()
    _, body, _ = c.get(st["report_url"].replace("report.html", "run.json"))
    assert json.loads(body)["parameters"] == {} and json.loads(body)["lang"] == "en"


def test_too_big_upload_is_a_sentence(served, small):
    server, c = served[0](max_upload_bytes=1000)
    status, res = c.upload(small["bad"])
    size = small["bad"].stat().st_size  # about 70 000 bytes: "71 ko" rounded up
    assert status == 413 and res["refused"] is True
    assert f"pèse {-(-size // 1000)} ko : la limite est de 1 ko" in res["message"]["fr"]
    assert list(server.workspace.root.iterdir()) == []  # not stored


@pytest.mark.parametrize("mode, fr", [
    ("parameter", "Début de la thématisation hors des données."),
    ("bug", "Erreur inattendue (RuntimeError)"),
    ("crash", "s'est arrêté sans explication"),
])
def test_report_failures_are_sentences_never_tracebacks(served, small, mode, fr):
    server, c = served[0](mode)
    c.upload(small["good"])
    c.run()
    st = c.wait()
    assert st["state"] == "failed"
    text = json.dumps(st, ensure_ascii=False)
    assert fr in st["error"]["message"]["fr"]
    assert "Traceback" not in text and EMAIL not in text


def test_after_the_app_stops_nothing_remains(served, small):
    start, temp = served
    server, c = start()
    c.upload(small["good"])
    c.run()
    assert c.wait()["state"] == "done"
    root = server.workspace.root
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "ma_saisie.xlsx" for p in files)
    assert any(p.name == "report.html" for p in files) and any(p.name == app.ZIP_NAME
                                                              for p in files)
    server.stop()
    assert not root.exists()
    assert list(temp.iterdir()) == []


def test_stopping_during_a_run_ends_it_and_cleans_up(served, small, tmp_path):
    script = tmp_path / "slow_worker.py"
    script.write_text("import time, qsp_eval.app as a\n"
                      "a._worker_main(run=lambda *args: time.sleep(60))\n", encoding="utf-8")
    start, temp = served
    server = app.AppServer(temp_parent=temp, command=(str(script),)).start()
    c = Client(server)
    c.upload(small["good"])
    c.run()
    job = server.state.job
    assert job.poll() == "running"
    t0 = time.monotonic()
    server.stop()
    assert time.monotonic() - t0 < 20
    assert job._proc.poll() is not None  # the child process is gone
    assert list(temp.iterdir()) == []


def test_serve_prints_the_address_and_the_close_button_cleans_up(tmp_path, small):
    said = []
    temp = tmp_path / "temp"
    t = threading.Thread(target=app.serve, kwargs=dict(
        port=0, open_browser=False, temp_parent=temp, say=said.append), daemon=True)
    t.start()
    for _ in range(200):
        if said:
            break
        time.sleep(0.05)
    url = re.search(r"http://127\.0\.0\.1:\d+/", said[0]).group(0)
    assert said[0].startswith("Page ouverte à l'adresse http://127.0.0.1:")

    class S:
        pass

    s = S()
    s.url = url
    c = Client(s)
    c.upload(small["bad"])
    assert any(temp.rglob("*.xlsx"))
    assert c.post("/api/quit")[1] == {"closed": True}
    t.join(20)
    assert not t.is_alive()
    assert list(temp.iterdir()) == []
    assert said[-1] == "Application arrêtée ; fichiers temporaires effacés."


def test_cli_lists_and_describes_the_app(capsys):
    from qsp_eval.cli import main

    with pytest.raises(SystemExit) as e:
        main(["app", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "127.0.0.1" in out and "--no-browser" in out
    main([])
    assert "app" in capsys.readouterr().out


# ---------------------------------------------------------------------------
# The real page in headless Chromium (slow: builds the real report)
# ---------------------------------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _driver(tmp_path, download_dir):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--window-size=1280,1000", "--lang=fr-FR",
              f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                           "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # the driver is given: selenium's own driver manager (which would go online) never runs
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)


@pytest.mark.slow
def test_the_page_in_headless_chromium(tmp_path, workbooks):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium "
                    "chromium-driver)")
    pytest.importorskip("selenium")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("QSP_APP_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    temp = tmp_path / "temp"
    server = app.AppServer(temp_parent=temp).start()
    driver = _driver(tmp_path, downloads)
    try:
        wait = WebDriverWait(driver, 60)

        def shot(name):
            driver.save_screenshot(str(shots / f"{name}.png"))

        driver.get(server.url)
        wait.until(EC.text_to_be_present_in_element((By.ID, "step1"), "Déposez"))
        assert driver.find_element(By.TAG_NAME, "h1").text.startswith(
            "Rapport d'évaluation de la permanence")
        shot("01-accueil")

        # 0. not a spreadsheet: one sentence
        notes = tmp_path / "notes.txt"
        notes.write_text("bonjour", encoding="utf-8")
        driver.find_element(By.ID, "file").send_keys(str(notes))
        wait.until(EC.text_to_be_present_in_element((By.ID, "upload-msg"), "n'est pas un classeur"))
        assert driver.find_element(By.ID, "step2").is_displayed() is False
        shot("01b-refus")

        # 1. the workbook with mistakes
        driver.find_element(By.ID, "file").send_keys(str(workbooks["bad"]))
        wait.until(EC.presence_of_element_located((By.ID, "problems")))
        head = driver.find_element(By.ID, "problems-head").text
        assert "problème(s) à corriger dans « ma_saisie_erreurs.xlsx »" in head
        headers = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#problems th")]
        assert headers == ["Feuille / fichier", "Ligne", "Colonne", "Valeur", "Ce qui ne va pas",
                           "Ce qui est attendu"]
        rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                for tr in driver.find_elements(By.CSS_SELECTOR, "#problems tbody tr")]
        # one bad session date: one message, which also says how many visit rows it affects
        bad_date = next(r for r in rows if r[:5] == ["sessions", "4", "date", "31/02/2023",
                                                     "date invalide"])
        assert bad_date[5].startswith("jj/mm/aaaa (ex. 17/05/2023) ; ")
        assert "ligne(s) de la feuille « visits »" in bad_date[5]
        email = next(r for r in rows if r[2] == "email")
        assert email[3] == "" and "identifiantes" in email[4]
        assert EMAIL not in driver.page_source
        assert driver.find_element(By.ID, "step3").is_displayed() is False  # nothing to run
        shot("02-problemes")

        # 2. the corrected workbook (it does not give the theming start: the page asks)
        driver.find_element(By.ID, "file").send_keys(str(workbooks["no_start"]))
        wait.until(EC.presence_of_element_located((By.ID, "valid")))
        assert "Données valides" in driver.find_element(By.ID, "valid").text
        assert "Source : ma_saisie_corrigee.xlsx" in driver.find_element(By.ID, "valid").text
        field = driver.find_element(By.ID, "theming-start")
        assert field.is_displayed()
        shot("03-valide")
        driver.find_element(By.ID, "run").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "run-msg"), "début de la thématisation"))
        field.send_keys("10/01/2024")
        driver.find_element(By.ID, "run").click()
        wait.until(EC.visibility_of_element_located((By.ID, "progress")))
        WebDriverWait(driver, 120).until(
            lambda d: float(d.find_element(By.ID, "bar").get_attribute("value") or 0) > 0.05)
        shot("04-en-cours")

        # 3. the report
        WebDriverWait(driver, 900).until(
            lambda d: d.find_element(By.ID, "step4").is_displayed()
            or d.find_element(By.ID, "run-msg").is_displayed())
        time.sleep(1)  # the report loads in its frame
        assert driver.find_element(By.ID, "step4").is_displayed(), \
            driver.find_element(By.ID, "run-msg").text
        cards = driver.find_elements(By.CSS_SELECTOR, "#summary .kf")
        assert len(cards) >= 3
        answer = driver.find_element(By.CSS_SELECTOR, "#summary p.answer").text
        assert answer.startswith("La thématisation ?")
        driver.switch_to.frame(driver.find_element(By.ID, "report"))
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.TAG_NAME, "h1"))
        assert "Rapport d'évaluation" in driver.find_element(By.TAG_NAME, "h1").text
        driver.switch_to.default_content()
        shot("05-rapport")
        # the answer comes first in the page, above the steps
        assert driver.execute_script(
            "return document.querySelector('main section').id") == "step4"
        driver.execute_script("document.getElementById('report').scrollIntoView()")
        shot("06-rapport-dans-la-page")
        driver.execute_script("window.scrollTo(0, 0)")

        # 4. the zip
        driver.find_element(By.ID, "download").click()
        target = downloads / app.ZIP_NAME
        for _ in range(600):
            if target.exists() and not list(downloads.glob("*.crdownload")):
                break
            time.sleep(0.1)
        names = zipfile.ZipFile(target).namelist()
        assert "rapport/report.html" in names
        assert "rapport/tables/key_figures.csv" in names
        assert "rapport/tables/tables.xlsx" in names
        assert sum(n.startswith("rapport/tables/") and n.endswith(".csv") for n in names) >= 10

        # 5. English
        driver.find_element(By.ID, "lang-en").click()
        assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Drop-in evaluation report")
        shot("07-english")
        driver.find_element(By.ID, "lang-fr").click()

        # nothing was fetched from anywhere but the app (nor failed to be)
        urls = []
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                urls.append(msg["params"]["request"]["url"])
        assert urls
        network = [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws", "wss")]
        assert network and all(u.startswith(server.url) for u in network), network
        # no refused resource (a CSP violation or a blocked fetch would show here); the one
        # error expected is the 400 of the first "run" click without the theming start
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
                  and not ("/api/run" in e["message"] and "400" in e["message"])]
        assert errors == []

        # 6. close: the server stops and its folder is gone
        root = server.workspace.root
        assert any(root.rglob("report.html"))
        driver.find_element(By.ID, "quit").click()
        wait.until(EC.presence_of_element_located((By.ID, "closed")))
        shot("08-ferme")
        server.wait()
        assert not root.exists() and list(temp.iterdir()) == []
    finally:
        driver.quit()
        server.stop()
