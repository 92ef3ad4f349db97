#!/usr/bin/env bash
# The wheel as a user gets it: built from this checkout, installed (not editable) into a fresh
# venv, and run from an empty temporary folder, so nothing can come from the checkout but the
# input notes. Arguments go to `pip install` beside the wheel: `-c constraints.txt` for the
# tested set (CI), nothing for the declared ranges alone, `scikit-learn==1.5.2` for an old one.
#   scripts/smoke_wheel.sh [PIP_ARGS...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
WORK="$(mktemp -d -t notes-nlp-smoke-XXXXXX)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# pip's arguments name files of the checkout (constraints.txt): make them absolute before leaving it.
PIP_ARGS=()
for arg in "$@"; do
    if [[ -f "$ROOT/$arg" ]]; then PIP_ARGS+=("$ROOT/$arg"); else PIP_ARGS+=("$arg"); fi
done

step() { printf '\n== %s\n' "$*"; }

step "build the wheel"
make --no-print-directory -C "$ROOT" wheel PYTHON="$PYTHON" 2>&1 | grep -v "^WARNING: Location" || true
WHEEL="$(ls "$ROOT"/dist/notes_nlp-*.whl)"
echo "$(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) kB): $(unzip -l "$WHEEL" | grep -c 'notes_nlp/model/default/') model files, $(unzip -l "$WHEEL" | grep -c 'template.html') report template"

step "install it into a fresh venv: pip install ${PIP_ARGS[*]:-} '$(basename "$WHEEL")[service]'"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet "${PIP_ARGS[@]}" "$WHEEL[service]" 2>&1 | grep -v "^WARNING: Location" || true
BIN="$WORK/venv/bin"
"$BIN/python" -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ("notes-nlp", "spacy", "scikit-learn", "numpy", "scipy", "typer", "fastapi")))'

mkdir "$WORK/elsewhere"
cp "$ROOT/corpus/samples/notes.jsonl" "$WORK/elsewhere/notes.jsonl"
cp "$ROOT/corpus/handwritten/hw-a.jsonl" "$WORK/elsewhere/labeled.jsonl"
cp "$ROOT/corpus/handwritten/hw-b.jsonl" "$WORK/elsewhere/heldout.jsonl"
cd "$WORK/elsewhere"
"$BIN/python" - <<'EOF'
import notes_nlp, pathlib
where = pathlib.Path(notes_nlp.__file__).parent
assert "site-packages" in where.parts, f"notes_nlp imported from {where}, not the installed wheel"
print(f"notes_nlp imported from {where}")
EOF

step "score to JSONL, CSV and HTML"
"$BIN/notes-nlp" score notes.jsonl -o scored.jsonl
"$BIN/notes-nlp" score notes.jsonl -o scored.csv
"$BIN/notes-nlp" score notes.jsonl -o report.html
"$BIN/python" - <<'EOF'
import csv, json
records = [json.loads(line) for line in open("scored.jsonl", encoding="utf-8")]
assert len(records) == 5 and all(r["error"] is None for r in records), records
print("scored.jsonl:", "; ".join(f"{r['note_id']} " + ",".join(f"{l['code']} {l['verdict']} {l['score']}" for l in r["lines"]) for r in records))
rows = list(csv.DictReader(open("scored.csv", encoding="utf-8")))
print(f"scored.csv: {len(rows)} rows; report.html: {len(open('report.html', encoding='utf-8').read())} characters")
EOF

step "check"
printf 'S: neck pain 6/10 after MVA, rotation R 40 deg. Dx S13.4XXA.\nCMT: Diversified C5, T4.\nMFR to R upper trapezius 10 min to restore cervical rotation.\nGoal: check blind spot without pain, rotation 70 deg, in 4 wks.\nSigned: A. Smith, DC\n' > note.txt
set +e
"$BIN/notes-nlp" check note.txt --billed "97140-59x1;98940" --credential DC --payer cms
status=$?
set -e
echo "exit $status"
[[ $status == 1 ]]

step "extract"
"$BIN/notes-nlp" extract notes.jsonl -o entities.jsonl --html entities.html
echo "entities.jsonl: $(wc -l < entities.jsonl) records, $(grep -o '"label"' entities.jsonl | wc -l) entities"

step "serve, and its /healthz"
PORT="$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$BIN/notes-nlp" serve --port "$PORT" > serve.log 2>&1 &
SERVER_PID=$!
"$BIN/python" - "$PORT" <<'EOF'
import json, sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/healthz"
for _ in range(120):
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            print(f"GET /healthz {answer.status}:", json.dumps(json.load(answer)))
            break
    except OSError:
        time.sleep(0.5)
else:
    sys.exit(f"{url} did not answer")
EOF
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""

step "train and evaluate"
# Whole outputs to files, then their heads: a pipe into head would stop notes-nlp with SIGPIPE.
"$BIN/notes-nlp" train labeled.jsonl -o mine > train.txt && tail -n 3 train.txt
"$BIN/notes-nlp" evaluate heldout.jsonl --model mine > mine.txt && head -n 4 mine.txt
"$BIN/notes-nlp" evaluate heldout.jsonl > shipped.txt && head -n 1 shipped.txt

step "the installed wheel works from $WORK/elsewhere"
