# qsp-eval — two commands for a newcomer: `make report` and `make test`.
# Needs only Python 3.11+ and make; everything else is installed into .venv/
# from PyPI, pinned by constraints.txt for reproducible runs.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SOURCE ?= data/example
OUT ?= outputs/example
FILE ?= ma_saisie.xlsx

.PHONY: help setup report app test test-slow bench lint example clean

help:
	@echo "make report     - installe l'environnement puis produit le rapport de l'exemple dans $(OUT)/"
	@echo "                  (sets up the environment and builds the example report into $(OUT)/)"
	@echo "make template FILE=ma_saisie.xlsx - crée le classeur de saisie vide (.xlsx ou .ods)"
	@echo "make validate SOURCE=ma_saisie.xlsx - vérifie les données, n'écrit rien (checks the data)"
	@echo "make report SOURCE=ma_saisie.xlsx OUT=outputs/mon_rapport - rapport de ces données"
	@echo "make app        - ouvre la page locale : déposer le classeur, obtenir le rapport"
	@echo "                  (opens the local page on 127.0.0.1: drop the workbook, get the report)"
	@echo "make test       - lance les tests rapides (runs the fast tests)"
	@echo "make test-slow  - lance les tests longs et les tests aléatoires (slow and random property tests)"
	@echo "make bench      - mesure les temps (benchmarks, ratios against a floor)"
	@echo "make example    - régénère data/example avec qsp-eval simulate"

$(STAMP): pyproject.toml constraints.txt
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "qsp-eval needs Python 3.11 or newer (found " + sys.version.split()[0] + ")")'
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

report: $(STAMP)
	$(BIN)/qsp-eval report $(SOURCE) --out $(OUT)

# the coordinator's commands, runnable in any new shell (no activation needed)
.PHONY: template validate
template: $(STAMP)
	$(BIN)/qsp-eval template $(FILE)

validate: $(STAMP)
	$(BIN)/qsp-eval validate $(SOURCE)

app: $(STAMP)
	$(BIN)/qsp-eval app

test: $(STAMP)
	@$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests selected"; exit 0; fi; exit $$rc

# the slow checks, and every property-based test again with fresh random examples
# (the fast suite draws the same examples on every run: tests/conftest.py, profile "ci")
test-slow: $(STAMP)
	@HYPOTHESIS_PROFILE=explore $(BIN)/python -m pytest -q -m "slow or hypothesis"; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests selected"; exit 0; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check .

example: $(STAMP)
	rm -rf $(SOURCE).tmp && $(BIN)/qsp-eval simulate $(SOURCE).tmp --seed 2021 && rm -rf $(SOURCE) && mv $(SOURCE).tmp $(SOURCE)

clean:
	rm -rf $(VENV) outputs/*/ .pytest_cache .ruff_cache .hypothesis
