"""The ``notes-nlp`` command: a thin shell over the package.

Heavy imports (spaCy, the pipeline) happen inside the commands that need
them, so ``--help`` and the signing check start fast.
"""

from __future__ import annotations

import json
import sys
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


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"notes-nlp: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def extract(
    source: str = typer.Argument(..., help="Notes as JSONL or CSV (SPEC section 4), or - for JSONL on stdin."),
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
    out = sys.stdout if str(output) == "-" else _open_output(output)
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


def _open_output(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")


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


if __name__ == "__main__":
    app()
