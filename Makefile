# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install chromium wheel smoke-wheel corpus model bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test,service,dask]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/notes-nlp score corpus/samples/notes.jsonl -o out/scored.jsonl
	$(BIN)/notes-nlp score corpus/samples/notes.jsonl -o out/report.html
	$(BIN)/notes-nlp extract corpus/samples/notes.jsonl -o out/entities.jsonl --html out/entities.html
	@echo "wrote out/scored.jsonl, out/report.html, out/entities.jsonl and out/entities.html"

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The wheel a user installs: dist/notes_nlp-*.whl.
wheel:
	rm -rf dist && $(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir dist .

# The wheel installed (not editable) into a fresh venv with the tested versions, then score, check,
# extract, serve and train/evaluate run from a temporary folder. SMOKE_PIP_ARGS= (empty) installs
# with the declared ranges alone.
SMOKE_PIP_ARGS ?= -c constraints.txt
smoke-wheel:
	scripts/smoke_wheel.sh $(SMOKE_PIP_ARGS)

# Debian's headless browser, for the test that opens the HTML report (skipped without it); needs root.
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# The shipped default model: fitted on the corpus train split, threshold set on dev.
model: $(STAMP)
	$(BIN)/notes-nlp train corpus -o src/notes_nlp/model/default --seed 0

# Throughput, latency and memory figures as one JSON line (scripts/bench.py --help).
bench: $(STAMP)
	$(BIN)/python scripts/bench.py --dask

corpus: $(STAMP)
	$(BIN)/python scripts/generate_corpus.py
	$(BIN)/notes-nlp corpus validate corpus/

clean:
	rm -rf $(VENV) out dist build .pytest_cache
