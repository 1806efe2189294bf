"""Every command the README shows runs as written, in a new shell, after the README's set-up.

Each fenced block marked ``sh`` in ``README.md`` is extracted (indented blocks inside list
items included) and run with ``bash -e`` in a **clean environment** (a minimal ``PATH``, a fresh
``HOME``: no activated virtual environment, nothing inherited from the test run) in a **fresh
copy of the repository** (the files git tracks, copied from this working tree), in README order.

Directives, written as an HTML comment on the line just before a block (invisible on GitHub):

``<!-- no-run -->``
    The block is not run (a long-running server such as ``make app``); its commands are still
    checked to be resolvable (``make -n`` for make targets).
``<!-- readme-test: fill FILE -->``
    Before the block, the test writes FILE as a *filled* workbook: the bundled example, one
    sheet per table, with ``evaluation.yml`` beside it. That is what the coordinator does by
    hand between ``make template`` and ``make validate``; the test does it for them.

To stay fast the copy reuses this checkout's ``.venv/`` through a symbolic link (the README's
set-up step ``make setup`` then finds it installed and does nothing; the copy's
``pyproject.toml`` and ``constraints.txt`` are dated before the install stamp so that make never
reinstalls into the shared environment). The console script ``qsp-eval`` of that environment runs
this checkout's code, which is the code being copied.

- ``test_readme_commands_resolve`` (fast): every command's program or make target exists.
- ``test_readme_coordinator_commands_run`` (fast): the blocks that do not build a report run,
  as written.
- ``test_every_readme_block_runs_as_written`` (slow): every block not marked ``no-run`` runs,
  in order, ``make report`` and ``make test`` included. The inner ``make test`` skips this
  module (``QSP_SKIP_README_TESTS=1``) so that it does not run itself.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
STAMP = ROOT / ".venv" / ".installed-stamp"

if os.environ.get("QSP_SKIP_README_TESTS"):
    pytest.skip("inside the README test's own `make test`", allow_module_level=True)

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)\s*$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*(?P<body>no-run|readme-test:[^>]*?)\s*-->\s*$")
#: Blocks whose commands build a whole report or run the test suite: slow test only.
_HEAVY = re.compile(r"\bmake\s+(report|test)\b|\bqsp-eval\s+report\b")


def readme_blocks(text: str | None = None) -> list[dict]:
    """The ``sh`` blocks of the README: ``{"line", "code", "directives"}`` in order.

    Examples
    --------
    >>> b = readme_blocks("x\\n<!-- no-run -->\\n```sh\\nmake app\\n```\\n")
    >>> b[0]["code"], b[0]["directives"]
    ('make app\\n', ['no-run'])
    """
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group("indent"), m.group("lang")
        j = i + 1
        while j < len(lines) and not re.match(rf"^{re.escape(indent)}```\s*$", lines[j]):
            j += 1
        if lang in ("sh", "bash", "shell"):
            body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip()
                    for ln in lines[i + 1:j]]
            directives = []
            k = i - 1
            while k >= 0 and _DIRECTIVE.match(lines[k]):
                directives.append(_DIRECTIVE.match(lines[k]).group("body").strip())
                k -= 1
            out.append({"line": i + 1, "code": "\n".join(body) + "\n",
                        "directives": directives})
        i = j + 1
    return out


def _commands(code: str) -> list[list[str]]:
    """The commands of a block, as argument lists (comments and blank lines dropped)."""
    out = []
    for line in code.splitlines():
        parts = shlex.split(line, comments=True)
        if parts:
            out.append(parts)
    return out


def _clean_env(home: Path) -> dict:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "QSP_SKIP_README_TESTS": "1", "MPLBACKEND": "Agg"}


def _fresh_copy(dest: Path) -> Path:
    """A copy of the files git tracks (as they are in this working tree), .venv linked."""
    if not STAMP.is_file():
        pytest.skip("the environment is not set up (make setup)")
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                                check=True, timeout=60).stdout.decode().split("\0")
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout: cannot list the tracked files")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    # the shared environment is installed: make must not reinstall it from the copy
    before = STAMP.stat().st_mtime - 60
    for name in ("pyproject.toml", "constraints.txt"):
        os.utime(dest / name, (before, before))
    return dest


def _fill(copy: Path, name: str) -> None:
    """Write ``name`` in the copy as a filled workbook: the example, evaluation.yml beside."""
    from openpyxl import Workbook

    from qsp_eval.io import read_table_file
    from qsp_eval.schema import TABLES

    target = copy / name
    wb = Workbook()
    wb.remove(wb.active)
    for table in TABLES:
        f = ROOT / "data" / "example" / f"{table}.csv"
        if not f.is_file():
            continue
        df = read_table_file(f)
        ws = wb.create_sheet(table)
        ws.append(list(df.columns))
        for rec in df.itertuples(index=False):
            ws.append([v if v != "" else None for v in rec])
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    wb.save(target)
    shutil.copy(ROOT / "data" / "example" / "evaluation.yml", target.parent / "evaluation.yml")


def _run_block(block: dict, copy: Path, home: Path, timeout: float):
    for d in block["directives"]:
        if d.startswith("readme-test:"):
            words = d.split(":", 1)[1].split()
            if words[:1] == ["fill"] and len(words) == 2:
                _fill(copy, words[1])
            else:
                raise AssertionError(f"unknown README directive: {d}")
    r = subprocess.run(["bash", "-e", "-c", block["code"]], cwd=copy, env=_clean_env(home),
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, (
        f"README.md line {block['line']}: this block failed (exit {r.returncode}) in a clean "
        f"shell:\n{block['code']}\n--- stdout ---\n{r.stdout[-3000:]}\n"
        f"--- stderr ---\n{r.stderr[-3000:]}")
    return r


def test_readme_has_the_commands_a_coordinator_needs():
    blocks = readme_blocks()
    codes = "".join(b["code"] for b in blocks)
    for needed in ("make setup", "make report", "make test", "make template FILE=",
                   "make validate SOURCE=", "source .venv/bin/activate"):
        assert needed in codes, needed
    for b in blocks:
        for d in b["directives"]:
            assert d == "no-run" or re.fullmatch(r"readme-test:\s*fill\s+\S+", d), d


def test_readme_commands_resolve(tmp_path):
    copy = _fresh_copy(tmp_path / "repo")
    env = _clean_env(tmp_path / "home")
    (tmp_path / "home").mkdir()
    subs = None
    for b in readme_blocks():
        activated = False
        for cmd in _commands(b["code"]):
            prog = cmd[0]
            where = f"README.md line {b['line']}: {' '.join(cmd)}"
            if prog == "make":
                r = subprocess.run(["make", "-n", *cmd[1:]], cwd=copy, env=env,
                                   capture_output=True, text=True, timeout=60)
                assert r.returncode == 0, f"{where}: {r.stderr}"
                assert "pip install" not in r.stdout, f"{where}: make would reinstall"
            elif prog in ("source", "."):
                assert (copy / cmd[1]).is_file(), where
                activated = activated or cmd[1].endswith(".venv/bin/activate")
            elif prog == "qsp-eval":
                assert activated, f"{where}: qsp-eval without `source .venv/bin/activate`"
                if subs is None:
                    from qsp_eval.cli import COMMANDS

                    subs = set(COMMANDS)
                assert cmd[1] in subs or cmd[1] == "--help", where
            else:
                assert shutil.which(prog, path=env["PATH"]), f"{where}: {prog} not found"


def test_readme_coordinator_commands_run(tmp_path):
    # the blocks that build no report, as written, in README order, in one fresh copy
    copy = _fresh_copy(tmp_path / "repo")
    (tmp_path / "home").mkdir()
    ran = []
    for b in readme_blocks():
        if "no-run" in b["directives"] or _HEAVY.search(b["code"]):
            continue
        _run_block(b, copy, tmp_path / "home", timeout=300)
        ran.append(b["code"])
    assert any("make template" in c for c in ran) and any("make validate" in c for c in ran)
    assert any("source .venv/bin/activate" in c for c in ran)
    assert (copy / "ma_saisie.xlsx").is_file()


@pytest.mark.slow
def test_every_readme_block_runs_as_written(tmp_path):
    copy = _fresh_copy(tmp_path / "repo")
    (tmp_path / "home").mkdir()
    for b in readme_blocks():
        if "no-run" in b["directives"]:
            continue
        _run_block(b, copy, tmp_path / "home", timeout=3600)
    assert (copy / "outputs" / "example" / "report.html").is_file()
    assert (copy / "outputs" / "mon_rapport" / "report.html").is_file()
