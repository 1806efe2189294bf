"""Subcommands of ``qsp-eval`` (see :mod:`qsp_eval.cli` for the protocol)."""
