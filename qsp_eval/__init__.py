"""qsp-eval: evaluation and capitalisation workbench for community harm-reduction drop-ins.

Public names are re-exported lazily (PEP 562) so that ``import qsp_eval`` and
``qsp-eval --help`` stay fast; the mapping below is the explicit list.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "QspError": "errors",
    "DataError": "errors",
    "ParameterError": "errors",
    "DisclosureError": "errors",
    "Problem": "errors",
    "Dataset": "schema",
    "EvaluationConfig": "schema",
    "wilson_ci": "stats",
    "poisson_exact_ci": "stats",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'qsp_eval' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"qsp_eval.{mod}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
