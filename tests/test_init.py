"""The package's public names resolve, lazily, to the module that defines them."""

import importlib
import subprocess
import sys

import qsp_eval


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
