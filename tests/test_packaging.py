"""The project's set-up files agree with each other."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = dict(_norm(r) for r in py["project"]["dependencies"])
    wanted.update(_norm(r) for r in py["project"]["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_norm(d) for d in env["dependencies"] if isinstance(d, str) and d != "pip")
    conda.pop("python", None)
    assert conda == wanted


def test_constraints_pin_every_direct_dependency():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pinned = {
        _norm(line.split("==")[0])[0]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for req in py["project"]["dependencies"] + py["project"]["optional-dependencies"]["dev"]:
        assert _norm(req)[0] in pinned, req


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
