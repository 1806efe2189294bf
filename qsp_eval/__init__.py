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
    "VOCABULARIES": "schema",
    "TABLES": "schema",
    "label": "schema",
    "lookup_code": "schema",
    "load_source": "io",
    "read_table_file": "io",
    "write_table": "io",
    "write_tables_xlsx": "io",
    "write_template": "io",
    "build_dataset": "validation",
    "parse_evaluation": "validation",
    "pseudonymise": "privacy",
    "resolve_key": "privacy",
    "wilson_ci": "stats",
    "poisson_exact_ci": "stats",
    "count_mean_ci": "stats",
    "newcombe_diff_ci": "stats",
    "cochran_armitage": "stats",
    "homogeneity_test": "stats",
    "rate_ratio_ci": "stats",
    "simulate_source": "simulate",
    "simulate_session_counts": "simulate",
    "write_simulation": "simulate",
    "SimulatedSource": "simulate",
    "CountModel": "simulate",
    "per_session": "attendance",
    "by_period": "attendance",
    "session_trend": "attendance",
    "events_frame": "attendance",
    "loyalty": "attendance",
    "seasonality": "attendance",
    "composition": "profiles",
    "group_share": "profiles",
    "profile_tests": "profiles",
    "before_after": "profiles",
    "newcomers_profile": "profiles",
    "group_label": "profiles",
    "fit_its": "its",
    "its_effects": "its",
    "its_fitted": "its",
    "its_counterfactual": "its",
    "its_diagnostics": "its",
    "choose_family": "its",
    "theming_analysis": "theming",
    "ThemingResult": "theming",
    "service_counts": "services",
    "service_session_share": "services",
    "rapid_tests": "services",
    "drug_checking": "services",
    "material_totals": "material",
    "material_by_category": "material",
    "material_table": "material",
    "parse_survey_spec": "surveys",
    "question_summary": "surveys",
    "vote_results": "surveys",
    "likert_table": "surveys",
    "compare_answer": "surveys",
    "wide_to_long": "surveys",
    "activity_summary": "activities",
    "theme_table": "activities",
    "quality_tables": "quality",
    "describe_quality": "quality",
    "sessions_expected": "quality",
    "session_gaps": "quality",
    "completeness": "quality",
    "consistency_checks": "quality",
    "visit_outliers": "quality",
    "survey_counts": "quality",
    "rules_from_config": "disclosure",
    "DisclosureRules": "disclosure",
    "protect_table": "disclosure",
    "protect_tables": "disclosure",
    "format_count": "disclosure",
    "format_share": "disclosure",
    "check_text": "disclosure",
    "scan_outputs": "disclosure",
    "protect_tests": "disclosure",
    "protect_field_counts": "disclosure",
    "build_writeup": "writeup",
    "key_figures": "writeup",
    "writeup_docx": "writeup",
    "plot_sessions": "plots.attendance",
    "plot_period_means": "plots.attendance",
    "plot_seasonality": "plots.attendance",
    "plot_loyalty": "plots.attendance",
    "plot_composition": "plots.profiles",
    "plot_group_share": "plots.profiles",
    "plot_theming": "plots.theming",
    "plot_service_counts": "plots.services",
    "plot_service_share": "plots.services",
    "plot_drug_checking": "plots.services",
    "plot_material": "plots.services",
    "plot_question": "plots.surveys",
    "plot_likert": "plots.surveys",
    "plot_vote": "plots.surveys",
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
