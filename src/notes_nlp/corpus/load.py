"""Load the corpus folder: note records with their source file and split."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class CorpusNote:
    record: dict[str, Any]
    file: str
    line: int
    split: str | None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def note_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("handwritten/*.jsonl")) + sorted(folder.glob("generated/*.jsonl"))


def load_splits(folder: Path) -> dict[str, str]:
    """writer → split, from ``splits.json`` ({"train": [writers], "dev": [...], "test": [...]})."""
    path = folder / "splits.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text("utf-8"))
    return {writer: split for split in SPLITS for writer in data.get(split, [])}  # other keys are notes


def load_corpus(folder: str | Path) -> Iterator[CorpusNote]:
    """Every note of the corpus, with the split its writer belongs to."""
    folder = Path(folder)
    splits = load_splits(folder)
    for path in note_files(folder):
        with path.open(encoding="utf-8") as stream:
            for line_no, line in enumerate(stream, start=1):
                if line.strip():
                    record = json.loads(line)
                    yield CorpusNote(record, str(path.relative_to(folder)), line_no, splits.get(record.get("writer")))


def split_notes(folder: str | Path, split: str) -> list[dict[str, Any]]:
    return [note.record for note in load_corpus(folder) if note.split == split]
