"""Audit reports from scored records: CSV (one row per billed line) and a self-contained HTML page.

A shell over the scoring output: the core never imports it. The HTML report
embeds its data and script, so it opens offline and can be mailed as one file.
Both hold what the notes say, so neither lets a note act: in the page, the
data's ``<``, ``>`` and ``&`` are JSON escapes (``<!--<script>`` in a note
would otherwise change how the browser reads the data's script element, and
no note would be shown), and the script writes text, never markup; in the
CSV, a cell that a spreadsheet would read as a formula (``=``, ``+``, ``-``,
``@``, tab or carriage return first, OWASP's list) starts with a ``'``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from importlib import resources
from typing import IO, Any, Iterable

CSV_COLUMNS = ("note_id", "code", "units", "verdict", "score", "suggested_code", "errors", "warnings", "messages", "error")
FORMULA_FIRST = tuple("=+-@\t\r") + tuple("\uff1d\uff0b\uff0d\uff20")  # and their full-width forms
_SCRIPT_SAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def csv_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per billed 97124/97140 line; one row for a note without lines (its error, if any)."""
    if not record["lines"]:
        return [{"note_id": record["note_id"], "error": record["error"] or "no 97124/97140 line billed"}]
    return [
        {
            "note_id": record["note_id"],
            "code": line["code"],
            "units": line["units"],
            "verdict": line["verdict"],
            "score": line["score"],
            "suggested_code": line["suggested_code"],
            "errors": ";".join(f["rule"] for f in line["findings"] if f["severity"] == "error"),
            "warnings": ";".join(f["rule"] for f in line["findings"] if f["severity"] == "warning"),
            "messages": " | ".join(f["message"] for f in line["findings"]),
        }
        for line in record["lines"]
    ]


def write_csv(records: Iterable[dict[str, Any]], out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for record in records:
        writer.writerows({key: inert(value) for key, value in row.items()} for row in csv_rows(record))


def inert(value: Any) -> Any:
    """A cell no spreadsheet runs as a formula: a text starting like one gets a leading ``'``
    (OWASP, CSV injection). Numbers stay numbers."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_FIRST) else value


def report_note(envelope: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of one note: the scored record and, from the input, text, payer and signer."""
    source = envelope.get("record") if isinstance(envelope.get("record"), dict) else {}
    text = source.get("text") if isinstance(source.get("text"), str) else ""
    return {
        "note_id": record["note_id"],
        "line": envelope["line"],
        "text": text if record["error"] is None else "",
        "payer": (record.get("payer_profile") or {}).get("name") or source.get("payer") or "",
        "provider": str(source.get("provider_credential") or ""),
        "lines": record["lines"],
        "entities": [e for e in record["entities"] if e["label"] not in ("MEASURE", "BODY_REGION", "DIAGNOSIS", "CREDENTIAL", "BILLING")],
        "error": record["error"],
    }


def write_html(notes: Iterable[dict[str, Any]], out: IO[str], title: str = "notes-nlp audit report") -> None:
    """The report page: data as JSON inside the page, rendered by the page's own script."""
    data = {"title": title, "generated": dt.datetime.now().replace(microsecond=0).isoformat(sep=" "), "notes": list(notes)}
    payload = json.dumps(data, ensure_ascii=False).translate(_SCRIPT_SAFE)
    template = resources.files(__name__).joinpath("template.html").read_text("utf-8")
    out.write(template.replace("{{TITLE}}", _escape(title)).replace("/*DATA*/null", payload))  # the data last: nothing reads it after


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)
