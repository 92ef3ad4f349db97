"""The one scoring API: note records in, docs/formats.md output records out.

The CLI, the batch job and the service all call :func:`score`. Every input
record yields exactly one output record, in input order: scored, or with an
``error`` saying what was wrong with it. Notes of one chart are judged
together. Verdicts: ``unsupported`` when a rule finds an error; otherwise
``at_risk`` when the model's probability is below the threshold stored with
it; otherwise ``supported``.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, ContextManager, Iterable
from weakref import WeakKeyDictionary

from spacy.language import Language

from notes_nlp.io.records import MAX_TEXT_CHARS, check_record, note_id_of
from notes_nlp.judge import NoteJudgement, judge_records
from notes_nlp.model.features import line_example
from notes_nlp.model.persist import Model, load_model
from notes_nlp.rules.findings import LineJudgement
from notes_nlp.rules.profiles import PayerProfile, bundled_profile, load_profile

SUPPORTED, AT_RISK, UNSUPPORTED = "supported", "at_risk", "unsupported"
WARM_UP_NOTES = 2_000
_warmed_notes: WeakKeyDictionary[Language, int] = WeakKeyDictionary()


@dataclass(frozen=True)
class Options:
    """What a process needs to score, as the command line or the service's settings name it:
    hashable, so that each process loads its model and profile once (:func:`loaded`)."""

    model: str | None = None  # a model directory; None for the default
    rules_only: bool = False
    payer_file: str | None = None  # the operator's profile, for every note
    max_chars: int = MAX_TEXT_CHARS


@cache
def loaded(options: Options) -> tuple[Model | None, PayerProfile | None]:
    """The model and the operator's payer profile, loaded once per process; a bad one raises
    ModelError or ProfileError, which the shells turn into a message before any note is read."""
    model = None if options.rules_only else load_model(options.model)
    return model, load_profile(options.payer_file) if options.payer_file else None


def scorer(options: Options) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Score records with this process's pipeline, model and payer profiles: the operator's
    ``payer_file`` for every note, else the bundled profile each record names."""
    model, own = loaded(options)
    nlp = default_pipeline()
    return lambda records: score(records, model, nlp, lambda payer: own or bundled_profile(payer), options.max_chars)


@cache
def default_pipeline() -> Language:
    """The extraction pipeline, built once per process."""
    import notes_nlp

    return notes_nlp.load()


def _memory_scope(nlp: Language, notes: int) -> ContextManager:
    """Where to judge a batch of notes. Inside spaCy's memory zone, the strings the batch
    adds to the vocabulary are freed after it (judgements are plain Python objects), so a
    long run's memory stays flat. But inside a zone the tokenizer does not fill its cache,
    so, as spaCy advises, a process's first notes are judged outside one to warm it."""
    done = _warmed_notes.get(nlp, 0)
    if done < WARM_UP_NOTES:
        _warmed_notes[nlp] = done + notes
        return nullcontext()
    return nlp.memory_zone()


def verdict(line: LineJudgement, probability: float | None, threshold: float | None) -> str:
    if not line.supported:
        return UNSUPPORTED
    if probability is not None and threshold is not None and probability < threshold:
        return AT_RISK
    return SUPPORTED


def line_record(line: LineJudgement, probability: float | None, threshold: float | None) -> dict[str, Any]:
    return {
        "code": line.code,
        "billed_index": line.index,
        "units": line.units,
        "verdict": verdict(line, probability, threshold),
        "score": None if probability is None else round(float(probability), 4),
        "suggested_code": line.suggested_code,
        "findings": [finding.to_dict() for finding in line.findings],
    }


def error_record(record: Any, error: str) -> dict[str, Any]:
    """The output of a record that could not be scored: its note_id (when it has one) and why."""
    return {"note_id": note_id_of(record), "lines": [], "entities": [], "error": error}


def note_record(note: NoteJudgement, probabilities: list[float | None], threshold: float | None) -> dict[str, Any]:
    if note.error:
        return {"note_id": note.note_id, "lines": [], "entities": [], "error": note.error}
    return {
        "note_id": note.note_id,
        "payer_profile": {"name": note.profile.name, "version": note.profile.version},
        "lines": [line_record(line, p, threshold) for line, p in zip(note.lines, probabilities)],
        "entities": note.entities,
        "error": None,
    }


def score(
    records: Iterable[dict[str, Any]],
    model: Model | None = None,
    nlp: Language | None = None,
    profile_for: Callable[[str], PayerProfile] = bundled_profile,
    max_chars: int = MAX_TEXT_CHARS,
) -> list[dict[str, Any]]:
    """Score note records: one output record per input record, in order. ``profile_for`` turns a
    record's ``payer`` into its profile: by default a bundled one, by name only."""
    [scored] = score_apart([records], model, nlp, profile_for, max_chars)
    return scored


def score_apart(
    batches: Iterable[Iterable[dict[str, Any]]],
    model: Model | None = None,
    nlp: Language | None = None,
    profile_for: Callable[[str], PayerProfile] = bundled_profile,
    max_chars: int = MAX_TEXT_CHARS,
) -> list[list[dict[str, Any]]]:
    """Score several lists of note records, each as :func:`score` would alone (a chart never
    spans two lists), with one call of the model for all their lines: the service scores the
    checks that wait together this way, paying a call's fixed part once."""
    batches = [list(records) for records in batches]
    nlp = nlp or default_pipeline()
    with _memory_scope(nlp, sum(map(len, batches))):
        notes = [_judged(records, nlp, profile_for, max_chars) for records in batches]
    all_notes = [note for judged in notes for note in judged]
    all_probabilities = iter(_probabilities(all_notes, [record for records in batches for record in records], model))
    threshold = model.threshold if model else None
    return [[note_record(note, next(all_probabilities), threshold) for note in judged] for judged in notes]


def _judged(records: list[Any], nlp: Language, profile_for: Callable[[str], PayerProfile], max_chars: int) -> list[NoteJudgement]:
    """One judgement per record, in order: the rules' for a valid one, its error for another."""
    errors = [check_record(record, max_chars) for record in records]
    judged = iter(judge_records([record for record, error in zip(records, errors) if error is None], nlp, profile_for))
    return [
        next(judged) if error is None else NoteJudgement(note_id_of(record), error=error)
        for record, error in zip(records, errors)
    ]


def _probabilities(notes: list[NoteJudgement], records: list[Any], model: Model | None) -> list[list[float | None]]:
    """The model's probability for every line, in one batch (None without a model)."""
    if model is None:
        return [[None] * len(note.lines) for note in notes]
    examples = [line_example(note, line, record["text"]) for note, record in zip(notes, records) for line in note.lines]
    flat = iter(model.probability(examples).tolist() if examples else [])
    return [[next(flat) for _ in note.lines] for note in notes]
