"""``qsp-eval report --key-file``: the pseudonymisation key reaches the data load and notebooks.

Expected pseudonyms are computed here with :mod:`hmac` from the documented
formula (:func:`qsp_eval.privacy.pseudonymise`: HMAC-SHA256 of the upper-cased,
space-trimmed visitor code under the key, first 16 hex digits), not taken from
the package's output.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import nbformat
import pytest

from qsp_eval import publish, report
from qsp_eval.cli import main
from qsp_eval.errors import ParameterError

KEY_A = "une-cle-assez-longue-pour-passer"
KEY_B = "une-autre-cle-tout-aussi-longue!"


def _expected(code: str, key: str) -> str:
    return hmac.new(key.encode("utf-8"), code.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def _tiny_source(folder: Path) -> Path:
    """Two held sessions, three visits by two people (codes AB12 twice, CD34 once)."""
    folder.mkdir(parents=True)
    (folder / "sessions.csv").write_bytes(
        "date;status\r\n17/05/2023;Tenue\r\n31/05/2023;tenue\r\n".encode("cp1252"))
    (folder / "visits.csv").write_bytes(
        ("date;visitor_code;gender\r\n17/05/2023;AB12;Femme trans\r\n"
         "17/05/2023;CD34;Agenre\r\n31/05/2023; ab12 ;Femme trans\r\n").encode("cp1252"))
    (folder / "evaluation.yml").write_text("programme: Essai\nlaunch_date: 2021-11-03\n",
                                           encoding="utf-8")
    return folder


@pytest.fixture
def source(tmp_path, monkeypatch):
    monkeypatch.delenv("QSP_PSEUDONYM_KEY", raising=False)
    publish._CACHE.clear()
    publish._MEMO.clear()
    yield _tiny_source(tmp_path / "data")
    publish._CACHE.clear()
    publish._MEMO.clear()


def _key(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / "keys" / name
    p.parent.mkdir(exist_ok=True)
    p.write_text(text + "\n", encoding="utf-8")  # the trailing newline is stripped
    return p


def test_cli_passes_the_key_file_to_run_report(monkeypatch, capsys, tmp_path):
    seen = {}

    def fake(source, out, **kw):
        seen.update(source=source, key_file=kw.get("key_file"))
        return report.ReportResult(Path(out))

    monkeypatch.setattr(report, "run_report", fake)
    out = str(tmp_path / "o")
    assert main(["report", "src", "--out", out, "--key-file", "/elsewhere/key.txt"]) == 0
    assert seen == {"source": "src", "key_file": "/elsewhere/key.txt"}
    assert main(["report", "src", "--out", out]) == 0
    assert seen["key_file"] is None
    capsys.readouterr()


def test_key_file_inside_the_data_folder_is_refused_before_anything_runs(tmp_path, source,
                                                                          capsys):
    (source / "key.txt").write_text(KEY_A, encoding="utf-8")
    out = tmp_path / "out"
    rc = main(["report", str(source), "--out", str(out), "--key-file",
               str(source / "key.txt"), "--lang", "fr"])
    err = capsys.readouterr().err
    assert rc == 2 and "dossier des données" in err and "Traceback" not in err
    assert not out.exists()
    missing = tmp_path / "nowhere.key"
    assert main(["report", str(source), "--out", str(out), "--key-file", str(missing)]) == 2
    assert not out.exists()


def test_load_dataset_uses_the_key_and_keeps_pseudonyms_across_runs(tmp_path, source):
    ka, kb = _key(tmp_path, "a.key", KEY_A), _key(tmp_path, "b.key", KEY_B)
    first = publish.load_dataset(source, key_file=ka)
    # visits in file order: AB12, CD34, " ab12 " (normalised to AB12)
    want_a = [_expected("AB12", KEY_A), _expected("CD34", KEY_A), _expected("AB12", KEY_A)]
    assert list(first.visits["person_id"]) == want_a
    # a notebook's setup(source) without a key gets the very dataset the report loaded
    assert publish.load_dataset(source) is first
    assert publish.load_dataset(source, key_file=ka) is first
    # another key: reloaded, other pseudonyms
    other = publish.load_dataset(source, key_file=kb)
    assert list(other.visits["person_id"]) == [_expected("AB12", KEY_B),
                                               _expected("CD34", KEY_B),
                                               _expected("AB12", KEY_B)]
    # "another run" (empty cache): the same key gives the same pseudonyms
    publish._CACHE.clear()
    assert list(publish.load_dataset(source, key_file=ka).visits["person_id"]) == want_a


def test_key_file_too_short_is_refused(tmp_path, source):
    with pytest.raises(ParameterError):
        publish.load_dataset(source, key_file=_key(tmp_path, "short.key", "court"))


def _digest_notebook(folder: Path) -> Path:
    """A report notebook that prints the visits' pseudonyms (test only: scan is off)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell('source: str = "x"\noutput_dir: str = "y"\nlang: str = "fr"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from qsp_eval import publish\n"
        "pub = publish.setup(source, output_dir=output_dir, lang=lang)\n"
        "print('PIDS', ','.join(pub.data.visits['person_id']))")]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "k.ipynb"
    nbformat.write(nb, str(path))
    return path


def _printed_pids(out: Path) -> list[str]:
    nb = nbformat.read(str(out / "notebooks" / "k.ipynb"), as_version=4)
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    (line,) = [t for t in "".join(texts).splitlines() if t.startswith("PIDS ")]
    return line[len("PIDS "):].split(",")


@pytest.mark.parametrize("engine", [report.ENGINE_NAME, "kernel"])
def test_run_report_notebooks_see_the_keyed_pseudonyms(tmp_path, source, engine):
    folder = tmp_path / "nbs"
    _digest_notebook(folder)
    ka = _key(tmp_path, "a.key", KEY_A)
    want = [_expected("AB12", KEY_A), _expected("CD34", KEY_A), _expected("AB12", KEY_A)]
    out = tmp_path / "out"
    res = report.run_report(source, out, notebooks=["k"], notebook_folder=folder, scan=False,
                            engine=engine, key_file=ka)
    assert _printed_pids(out) == want
    # the key (and its path) is not written into the report
    man = (out / "manifest.json").read_text(encoding="utf-8")
    assert KEY_A not in man and "a.key" not in man
    assert "key_file" not in res.parameters
    import os

    assert "QSP_PSEUDONYM_KEY" not in os.environ  # restored after a kernel run
