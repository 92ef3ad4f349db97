"""The composition table of the corpus: counts by writer, credential, payer, style, source, split, code, label, reason."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable

from notes_nlp.corpus.load import CorpusNote, load_corpus
from notes_nlp.codes import muscle_work_codes


def composition(notes: Iterable[CorpusNote]) -> dict[str, Counter]:
    table: dict[str, Counter] = {
        name: Counter()
        for name in ("notes", "writer", "credential", "payer", "style", "source", "split", "code", "label", "reason", "warning", "charts")
    }
    charts: dict[str, set[str]] = {}
    for note in notes:
        record = note.record
        table["notes"]["all"] += 1
        table["writer"][f"{record.get('writer')} ({note.split})"] += 1
        table["credential"][record.get("provider_credential")] += 1
        table["payer"][record.get("payer")] += 1
        table["style"][record.get("style")] += 1
        table["source"][record.get("source")] += 1
        table["split"][f"{note.split} ({record.get('source')})"] += 1
        if record.get("gold_entities"):
            table["notes"]["with gold entities"] += 1
        if record.get("chart_id"):
            charts.setdefault(note.split or "none", set()).add(record["chart_id"])
        for line in record.get("billed", []):
            code = str(line.get("code"))
            if code not in muscle_work_codes():
                continue
            table["code"][code] += 1
            table["label"][f"{code} {line.get('label')}"] += 1
            table["label"][line.get("label")] += 1
            table["reason"].update(line.get("reasons", []))
            table["warning"].update(line.get("warnings", []))
    for split, ids in charts.items():
        table["charts"][split] = len(ids)
    table["charts"]["all"] = sum(len(ids) for ids in charts.values())
    return table


def format_table(table: dict[str, Counter]) -> str:
    lines = []
    for name, counts in table.items():
        lines.append(f"{name}:")
        for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
            lines.append(f"  {str(key):<40} {count:>6}")
    return "\n".join(lines)


def corpus_composition(folder: str | Path) -> str:
    return format_table(composition(load_corpus(folder)))
