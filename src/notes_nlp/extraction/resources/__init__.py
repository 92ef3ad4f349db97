"""Vocabulary and rules of the extraction, as data files."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Iterator


def read_jsonl(name: str) -> Iterator[dict[str, Any]]:
    """Yield the records of a bundled JSONL resource, skipping blank and ``//`` lines."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name}:{line_no}: not valid JSON ({exc.msg})") from exc


def pattern_files() -> list[str]:
    """Names of the vocabulary files read by the span ruler, in a stable order."""
    folder = resources.files(__name__).joinpath("patterns")
    return sorted(f"patterns/{p.name}" for p in folder.iterdir() if p.name.endswith(".jsonl"))
