"""The ``notes-nlp`` command: a thin shell over the package.

Heavy imports (spaCy, the pipeline) happen inside the commands that need
them, so ``--help`` and the signing check start fast.
"""

from __future__ import annotations

import importlib
import json
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    help="Does the clinical note support the billed CPT 97124 (massage) or 97140 (manual therapy)?",
    no_args_is_help=True,
    add_completion=False,
)
corpus_app = typer.Typer(help="Check and describe a labeled corpus folder.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")


class EngineName(str, Enum):
    local = "local"
    dask = "dask"


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"notes-nlp: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def extract(
    source: str = typer.Argument(..., help="Notes as JSONL or CSV (docs/formats.md), or - for JSONL on stdin."),
    output: Path = typer.Option(Path("-"), "-o", "--output", help="Where to write the entities as JSONL (- for stdout)."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also render the notes with highlighted entities (displaCy) to this HTML file."),
) -> None:
    """Extract the evidence from each note: one JSONL record per input record, errors included."""
    from notes_nlp.extraction.records import entity_records
    from notes_nlp.io.records import read_records
    import notes_nlp

    if source != "-" and not Path(source).is_file():
        fail(f"input file not found: {source}")
    nlp = notes_nlp.load()
    out = sys.stdout if str(output) == "-" else _open_output(output, "w")
    docs = []
    counts = {"notes": 0, "errors": 0}
    for item in read_records(source):
        counts["notes"] += 1
        if item.error:
            counts["errors"] += 1
            out.write(json.dumps({"note_id": item.note_id, "entities": [], "error": item.error}) + "\n")
            continue
        doc = nlp(item.record["text"])
        out.write(json.dumps({"note_id": item.note_id, "entities": entity_records(doc), "error": None}, ensure_ascii=False) + "\n")
        if html:
            doc.user_data["title"] = item.note_id
            docs.append(doc)
    if out is not sys.stdout:
        out.close()
    if html:
        from spacy import displacy

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(displacy.render(docs, style="span", page=True, options={"spans_key": "notes"}), encoding="utf-8")
    typer.echo(f"{counts['notes']} notes, {counts['errors']} with errors", err=True)


@app.command()
def score(
    source: str = typer.Argument(..., help="Notes as JSONL or CSV (docs/formats.md), or - for JSONL on stdin."),
    output: Path = typer.Option(Path("-"), "-o", "--output", help="Where to write: .jsonl (default, - for stdout), .csv (a row per billed line) or .html (the audit report)."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model directory (default: $NOTES_NLP_MODEL, else the model shipped in the package)."),
    rules_only: bool = typer.Option(False, "--rules-only", help="Judge with the payer rules alone: verdicts and findings, no model score."),
    payer_file: Optional[Path] = typer.Option(None, "--payer-file", help="Your own payer profile (JSON, see notes_nlp/rules/payers/), used for every note."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Processes scoring in parallel, each loading the pipeline and model once (default 1); with --engine dask, the worker processes of the local cluster."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run: keep the complete records already in OUTPUT and score the rest."),
    max_chars: int = typer.Option(200_000, "--max-chars", min=1, help="Notes longer than this get an error instead of a score."),
    engine: EngineName = typer.Option(EngineName.local, "--engine", help="Where chunks are scored: local (this machine's processes) or dask (a Dask cluster; needs notes-nlp's dask extra)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="With --engine dask: a running cluster's scheduler (tcp://HOST:8786) instead of a local cluster; its workers need this notes-nlp and can read --model and --payer-file at the same paths."),
) -> None:
    """Score each billed 97124/97140 line: verdict, calibrated score, suggested code and findings.

    Every input record yields exactly one output record, in input order; a bad record gets an
    error saying what is wrong and on which line. Notes of one chart are judged together.
    """
    from notes_nlp import batch
    from notes_nlp.model.persist import ModelError
    from notes_nlp.rules.profiles import ProfileError
    from notes_nlp.scoring import Options, loaded

    if source != "-" and not Path(source).is_file():
        fail(f"input file not found: {source}")
    report = output.suffix.lower() if output.suffix.lower() in (".csv", ".html", ".htm") else None
    if resume and (str(output) == "-" or report):
        fail("--resume needs a JSONL output file (-o OUT.jsonl)")
    if scheduler and engine is not EngineName.dask:
        fail("--scheduler is the address of a Dask scheduler: add --engine dask")
    if scheduler and workers:
        fail("--workers starts a local Dask cluster; with --scheduler the cluster's own workers score (start them with `dask worker`)")
    options = Options(str(model) if model else None, rules_only, str(payer_file) if payer_file else None, max_chars)
    try:
        loaded(options)  # a bad model or payer file stops here, before any note is read
    except (ModelError, ProfileError) as exc:
        fail(str(exc))
    the_plan = batch.plan(source, max_chars=max_chars)
    try:
        start = batch.resume_point(the_plan, output) if resume else 0
        with _engine(engine, workers or 1, scheduler, options) as scorer:
            if report:
                summary = _score_to_report(source, report, output, options, scorer, the_plan)
            else:
                summary = _score_to_jsonl(source, output, start, options, scorer, the_plan)
    except batch.ResumeError as exc:
        fail(str(exc))
    finally:
        the_plan.close()
    resumed = f" (resumed after {start})" if start else ""
    typer.echo(f"{summary}{resumed}", err=True)


def _score_to_jsonl(source: str, output: Path, start: int, options, scorer, the_plan):
    """Score into stdout, or into OUT.jsonl with OUT.jsonl.digests beside it (for --resume),
    appending after the ``start`` records kept from an interrupted run."""
    from notes_nlp import batch

    with _progress(len(the_plan), start) as advance:
        if str(output) == "-":
            return batch.run(source, sys.stdout, options, scorer, the_plan=the_plan, progress=advance)
        mode = "a" if start else "w"
        with _open_output(output, mode) as out, _open_output(batch.digests_path(output), mode) as digests:
            return batch.run(source, out, options, scorer, start=start, the_plan=the_plan, progress=advance, digests=digests)


def _score_to_report(source: str, kind: str, output: Path, options, scorer, the_plan):
    """Score into a temporary file (unnamed, like the spool), then write the CSV or HTML report."""
    import tempfile

    from notes_nlp import batch

    with tempfile.TemporaryFile("w+", encoding="utf-8") as scored, _progress(len(the_plan), 0) as advance:
        summary = batch.run(source, scored, options, scorer, the_plan=the_plan, progress=advance)
        scored.seek(0)
        _write_report(kind, output, batch.envelopes(the_plan), (json.loads(line) for line in scored))
    return summary


@contextmanager
def _engine(name: EngineName, workers: int, scheduler: Optional[str], options):
    """The batch engine, for as long as the run: local processes, or a Dask cluster (started
    here, or reached at ``scheduler``) whose workers have loaded what ``options`` asks for."""
    from notes_nlp import batch

    if name is EngineName.local:
        yield batch.local_engine(workers)
        return
    try:
        on_dask = importlib.import_module("notes_nlp.engines.dask")
    except ImportError as exc:
        fail(f"--engine dask needs Dask ({exc}): pip install 'notes-nlp[dask]'")
    from notes_nlp.model.persist import ModelError
    from notes_nlp.rules.profiles import ProfileError

    try:
        with on_dask.cluster_client(scheduler, workers) as client:
            yield on_dask.engine(client, options)
    except on_dask.ClusterError as exc:
        fail(str(exc))
    except (ModelError, ProfileError) as exc:
        fail(f"a Dask worker could not load it: {exc}")


def _write_report(kind: str, output: Path, envelopes, records) -> None:
    from notes_nlp.report import report_note, write_csv, write_html

    with _open_output(output, "w") as out:
        if kind == ".csv":
            write_csv(records, out)
        else:
            write_html((report_note(envelope, record) for envelope, record in zip(envelopes, records)), out)


class _progress:
    """A progress bar (notes/s, ETA) on a terminal's stderr; nothing otherwise."""

    def __init__(self, total: int, done: int) -> None:
        self.total, self.done, self.bar = total, done, None

    def __enter__(self):
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("scoring notes"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("score", total=self.total, completed=self.done, rate="")
        return self.advance

    def advance(self, done: int, total: int) -> None:
        if self.bar:
            self.bar.update(self.task, completed=done)
            speed = self.bar.tasks[0].speed
            self.bar.update(self.task, rate=f"{speed:.0f} notes/s" if speed else "")

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.stop()


@app.command()
def check(
    source: str = typer.Argument("-", help="One note: a JSON record (docs/formats.md) or plain text; - or nothing for stdin."),
    billed: Optional[str] = typer.Option(None, "--billed", help='Billed lines for plain text, e.g. "97140-59x2;98941".'),
    credential: Optional[str] = typer.Option(None, "--credential", help="Signer's credential for plain text (DC, PT, MD, LMT, ...)."),
    payer: str = typer.Option("cms", "--payer", help="Payer profile for plain text: cms or commercial-strict."),
    as_json: bool = typer.Option(False, "--json", help="Print the scored record as JSON instead of the message."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model directory (default: the shipped one)."),
    rules_only: bool = typer.Option(False, "--rules-only", help="Rules alone, no model score."),
) -> None:
    """The check at signing: does this note support its 97124/97140 lines? Exit 0 supported, 1 not supported or at risk, 2 bad input."""
    from notes_nlp import signing
    from notes_nlp.io.billed import parse_billed
    from notes_nlp.model.persist import ModelError, load_model
    from notes_nlp.scoring import score as score_records

    from notes_nlp.io.records import encoding_of

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        raw = data.decode(encoding_of(data))  # a byte-order mark (an editor's UTF-8, or UTF-16) is read, not kept
    except FileNotFoundError:
        fail(f"file not found: {source}")
    except UnicodeDecodeError as exc:
        fail(f"{source}: not UTF-8 (byte {exc.start}); save the note as UTF-8")
    record = _check_record(raw, billed, credential, payer, parse_billed)
    try:
        loaded = None if rules_only else load_model(model)
    except ModelError as exc:
        fail(str(exc))
    [result] = score_records([record], loaded)
    if result["error"]:
        fail(f"cannot check this note: {result['error']}")
    if not result["lines"]:
        fail("no 97124 or 97140 line to check: pass --billed \"97140x1\" or include the billed lines in the record")
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2) if as_json else signing.message(result))
    raise typer.Exit(0 if signing.passed(result) else 1)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; loopback unless told otherwise."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Scoring processes, each loading the pipeline and model once, fed from one queue by the one HTTP process (default 1: scoring on a thread of the HTTP process). Use the number of cores."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model directory (default: the shipped one, or $NOTES_NLP_MODEL)."),
) -> None:
    """The HTTP service: JSON API (/v1/score, /v1/check, /healthz, /docs) and CDS Hooks (/cds-services).

    Environment: NOTES_NLP_TOKEN (a bearer token every route but /healthz then requires),
    NOTES_NLP_MAX_BODY_BYTES (request size limit, default 1 MiB) and the other limits:
    NOTES_NLP_BODY_TIMEOUT_SECONDS (30), NOTES_NLP_MAX_HEADER_BYTES (16384),
    NOTES_NLP_HEADER_TIMEOUT_SECONDS (10), NOTES_NLP_KEEP_ALIVE_SECONDS (5),
    NOTES_NLP_MAX_CONNECTIONS (1000).
    """
    try:
        from notes_nlp.service.server import serve as run_server
    except ImportError as exc:
        fail(f"the service needs its extra ({exc.name} is missing): pip install 'notes-nlp[service]'")
    from notes_nlp.model.persist import ModelError

    try:
        run_server(host, port, workers, str(model) if model else None)
    except (ModelError, ValueError) as exc:
        fail(str(exc))


def _check_record(raw: str, billed: Optional[str], credential: Optional[str], payer: str, parse_billed) -> dict:
    """A JSON record as it is, or plain text with the options around it."""
    from notes_nlp.io.values import loads

    text = raw.strip()
    if text.startswith("{"):
        try:
            record = loads(text)
        except json.JSONDecodeError as exc:
            fail(f"the input looks like JSON but is not valid ({exc.msg} at line {exc.lineno}, column {exc.colno})")
        if not isinstance(record, dict):
            fail("a JSON input must be one note record (an object)")
        return record
    try:
        lines = parse_billed(billed) if billed else None
    except ValueError as exc:
        fail(f"--billed: {exc}")
    record = {"note_id": "note", "text": raw, "payer": payer, "provider_credential": credential}
    return record if lines is None else {**record, "billed": lines}


def _open_output(path: Path, mode: str = "w"):
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open(mode, encoding="utf-8", newline="")


@corpus_app.command("validate")
def corpus_validate(folder: Path = typer.Argument(Path("corpus"), help="The corpus folder.")) -> None:
    """Check schema, offsets, labels and reasons, splits and near-duplicate leakage. Exit 1 on any problem."""
    from notes_nlp.corpus.validate import validate

    problems = validate(folder)
    for problem in problems:
        typer.echo(problem)
    typer.echo(f"{len(problems)} problem(s)" if problems else "corpus is valid")
    raise typer.Exit(1 if problems else 0)


@corpus_app.command("stats")
def corpus_stats(folder: Path = typer.Argument(Path("corpus"), help="The corpus folder.")) -> None:
    """Print the composition table: counts by writer credential, payer, code, label, reason, source, split."""
    from notes_nlp.corpus.composition import corpus_composition

    typer.echo(corpus_composition(folder))


@corpus_app.command("eval-extraction")
def corpus_eval_extraction(
    folder: Path = typer.Argument(Path("corpus"), help="The corpus folder."),
    split: str = typer.Option("test", help="train, dev or test (hand-written notes only in test)."),
    source: Optional[str] = typer.Option(None, help="Only notes of this source: handwritten or generated."),
) -> None:
    """Technique mention F1 and status accuracy of the extraction on the gold-annotated notes of a split."""
    import notes_nlp
    from notes_nlp.corpus.evaluate_extraction import evaluate, report
    from notes_nlp.corpus.load import split_notes

    records = [r for r in split_notes(folder, split) if source is None or r.get("source") == source]
    annotated = [r for r in records if r.get("gold_entities")]
    if not annotated:
        fail(f"no gold-annotated notes in split {split!r} of {folder}")
    typer.echo(report(evaluate(notes_nlp.load(), annotated), len(annotated)))


@corpus_app.command("eval-rules")
def corpus_eval_rules(
    folder: Path = typer.Argument(Path("corpus"), help="The corpus folder."),
    split: str = typer.Option("dev", help="train, dev or test."),
    source: Optional[str] = typer.Option(None, help="Only notes of this source: handwritten or generated."),
    mistakes: int = typer.Option(0, help="Also list this many lines where the findings and the gold reasons differ."),
) -> None:
    """Precision and recall of the rules' error findings against the gold reasons of a split."""
    import notes_nlp
    from notes_nlp.corpus.evaluate_rules import evaluate, report
    from notes_nlp.corpus.load import split_notes

    records = [r for r in split_notes(folder, split) if source is None or r.get("source") == source]
    if not records:
        fail(f"no notes in split {split!r} of {folder}")
    typer.echo(report(evaluate(notes_nlp.load(), records), mistakes))


@corpus_app.command("blind")
def corpus_blind(
    folder: Path = typer.Argument(Path("corpus/blind"), help="The blind corpus folder (notes/, precision/, splits.json)."),
    model: Optional[Path] = typer.Option(None, help="Model directory for the score's ROC AUC (default: the shipped model)."),
    mistakes: Optional[str] = typer.Option("dev", help="List the lines of this split whose findings differ from the gold reasons; 'none' for no list. Never tune on test."),
    composition: bool = typer.Option(False, help="Print only the composition and agreement tables (no scoring)."),
) -> None:
    """The blind loop's figures: per writer dev and test accuracy and their gap, ROC AUC, reasons found,
    technique F1, writer/reader agreement, and invented techniques on the precision set."""
    import notes_nlp
    from notes_nlp.corpus.blind import load_blind, load_precision, report
    from notes_nlp.extraction.records import entity_records
    from notes_nlp.model.persist import ModelError, load_model
    from notes_nlp.scoring import score

    notes = load_blind(folder)
    if not notes:
        fail(f"no blind notes in {folder / 'notes'}")
    if composition:
        from notes_nlp.corpus.blind import composition_table

        typer.echo("\n".join(composition_table(notes, load_precision(folder))))
        return
    try:
        loaded = load_model(model)
    except ModelError as exc:
        fail(str(exc))
    nlp = notes_nlp.load()
    scored = score([n.record for n in notes], loaded, nlp)
    precision = load_precision(folder)
    entities = [entity_records(doc) for doc in nlp.pipe(n.record["text"] for n in precision)]
    typer.echo(report(notes, scored, precision, entities, None if mistakes == "none" else mistakes))


def _labeled_records(source: Path, split: Optional[str]) -> list[dict]:
    """Labeled notes from a corpus folder (one split) or a JSONL/CSV file (all of it)."""
    from notes_nlp.io.records import read_records

    if source.is_dir():
        from notes_nlp.corpus.load import split_notes

        records = split_notes(source, split or "train")
        if not records:
            fail(f"no notes in split {split!r} of {source}")
        return records
    if not source.is_file():
        fail(f"not found: {source} (give a corpus folder or a labeled JSONL/CSV file)")
    records = []
    for item in read_records(source):
        if item.error:
            fail(f"{source}: {item.error}; fix the record or remove it before training")
        records.append(item.record)
    return records


@app.command()
def train(
    corpus: Path = typer.Argument(..., help="A corpus folder (fits on its train split, sets the at_risk threshold on dev) or a labeled JSONL/CSV file."),
    output: Path = typer.Option(..., "-o", "--output", help="Model directory to write (model.json: the fitted parameters as data; meta.json; card.md)."),
    seed: int = typer.Option(0, help="Random seed; the same data and seed give the same model."),
    text_features: bool = typer.Option(
        False, "--text-features",
        help="Also join word and character n-grams of the note to the facts. On the bundled corpus they scored "
        "no better and were most of the model's time per note; compare on your own notes with `evaluate`.",
    ),
) -> None:
    """Retrain the model from labeled notes: grouped cross-validated metrics, then the final fit."""
    import notes_nlp
    from notes_nlp.model.data import labeled_lines, records_hash
    from notes_nlp.model.persist import save_model
    from notes_nlp.model.train import model_card
    from notes_nlp.model.train import train as train_model

    nlp = notes_nlp.load()
    records = _labeled_records(corpus, "train")
    dev = labeled_lines(_labeled_records(corpus, "dev"), nlp) if corpus.is_dir() else None
    data = labeled_lines(records, nlp)
    if len(set(data.labels)) < 2:
        fail("the training data needs both supported and unsupported lines")
    training = {"source": f"{corpus}" + (" (train split)" if corpus.is_dir() else ""), "records": len(records), "sha256": records_hash(records)}
    pipeline, meta, report = train_model(data, dev, seed, training, text_features)
    save_model(pipeline, meta, output, model_card(meta, report))
    typer.echo(report)
    typer.echo(f"wrote {output}/model.json, meta.json, card.md")


@app.command()
def evaluate(
    corpus: Path = typer.Argument(..., help="A corpus folder (see --split) or a labeled JSONL/CSV file."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model directory (default: $NOTES_NLP_MODEL, else the model shipped in the package)."),
    split: str = typer.Option("test", help="With a corpus folder: which split to evaluate on."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Also write calibration.png and roc.png to this folder."),
    seed: int = typer.Option(0, help="Seed of the n-gram baseline."),
) -> None:
    """Per-code ROC AUC, precision, recall, F1, Brier and confusion, beside three baselines."""
    import notes_nlp
    from notes_nlp.model.data import labeled_lines
    from notes_nlp.model.evaluate import evaluate as evaluate_model
    from notes_nlp.model.persist import ModelError, load_model

    try:
        loaded = load_model(model)
    except ModelError as exc:
        fail(str(exc))
    data = labeled_lines(_labeled_records(corpus, split), notes_nlp.load())
    _, report = evaluate_model(loaded, data, seed, plots)
    typer.echo(f"model: {loaded.path} (at_risk below {loaded.threshold:.2f}); data: {corpus}" + (f" split {split}" if corpus.is_dir() else ""))
    typer.echo(report)


if __name__ == "__main__":
    app()
