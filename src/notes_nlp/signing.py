"""The check at signing, as the clinician reads it: one scored record in, a pass/fix message out.

``notes-nlp check`` prints this message, the service's ``POST /v1/check``
returns it, and the CDS Hooks cards are built from the same headings and
finding messages, so a clinician reads the same words wherever the check
runs. Everything here reads a scored record (docs/formats.md output) and
nothing else.
"""

from __future__ import annotations

from typing import Any

SIGNS = {"error": "✗", "warning": "!"}


def passed(result: dict[str, Any]) -> bool:
    """Whether the note can be signed as it is: every 97124/97140 line supported."""
    return bool(result["lines"]) and all(line["verdict"] == "supported" for line in result["lines"])


def line_heading(line: dict[str, Any]) -> str:
    """``97140 x1: UNSUPPORTED (score 0.05)``: the code, units, verdict and the model's score."""
    score_text = "" if line["score"] is None else f" (score {line['score']:.2f})"
    return f"{line['code']} x{line['units']}: {line['verdict'].upper().replace('_', ' ')}{score_text}"


def better_code(line: dict[str, Any]) -> str | None:
    """The code the documentation fits instead of the billed one, when there is one."""
    return line["suggested_code"] if line["suggested_code"] not in (line["code"], "none") else None


def finding_note(finding: dict[str, Any]) -> str:
    """``✗ <message>`` for an error, ``! <message>`` for a warning: the message says what to fix."""
    return f"{SIGNS.get(finding['severity'], '-')} {finding['message']}"


def line_notes(line: dict[str, Any]) -> list[str]:
    """What to change for one line: the better-fitting code, then each finding with its sign."""
    notes = [f"→ the documentation fits {code}" for code in [better_code(line)] if code]
    return notes + [finding_note(finding) for finding in line["findings"]]


def message(result: dict[str, Any]) -> str:
    """The message ``notes-nlp check`` prints: per line a heading, then what to add or change."""
    out = []
    for line in result["lines"]:
        out.append(line_heading(line))
        out.extend(f"  {note}" for note in line_notes(line))
    return "\n".join(out)
