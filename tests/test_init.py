"""The package's public names resolve, lazily, to the module that defines them."""

import importlib
import subprocess
import sys

import qsp_eval

ROOT = __import__('pathlib').Path(__file__).resolve().parents[1]


def test_every_export_resolves_and_is_in_its_module_all():
    for name, mod in qsp_eval._EXPORTS.items():
        module = importlib.import_module(f"qsp_eval.{mod}")
        assert name in module.__all__, (name, mod)
        assert getattr(qsp_eval, name) is getattr(module, name)


def test_import_is_light():
    # `import qsp_eval` must not pull in pandas (keeps `qsp-eval --help` fast)
    code = "import sys, qsp_eval; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from qsp_eval.cli import build_parser\n"
        "build_parser('fr').format_help()\n"
        "print(sorted(m for m in ('pandas', 'statsmodels', 'matplotlib', 'nbconvert', 'papermill')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_output_piped_into_a_closed_pipe_is_not_an_error():
    # `qsp-eval ... | head`: the reader has gone before the command writes; no error, exit 0
    for args in (["--help"], ["validate", "data/example"]):
        p = subprocess.Popen([sys.executable, "-m", "qsp_eval", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=str(ROOT))
        p.stdout.close()  # closed before the interpreter has even started writing
        err = p.stderr.read().decode()
        assert p.wait() == 0, err
        assert "Erreur" not in err and "Traceback" not in err
