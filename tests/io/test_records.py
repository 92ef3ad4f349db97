"""The record reader: every line or row yields one record or one error, whatever the bytes."""

from __future__ import annotations

import codecs
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notes_nlp.io.records import check_record, read_csv, read_jsonl
from notes_nlp.io.values import MAX_DEPTH, OutOfRange, loads, value_problem

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(["note_id", "text", "billed", "chart_id", "date", "provider_credential", "payer", "extra"])
RECORDS = st.dictionaries(FIELDS, JSON_VALUES | st.text(), max_size=7)
TOKENS = st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "9" * 5000, "[" * 40 + "]" * 40, '"\\udaf2"', "{", '"', "\x00"])


def lines_of(data: bytes) -> int:
    """Lines that are not blank as JSON has it (spaces, tabs, CR): each is a record or an error."""
    return sum(1 for line in data.split(b"\n") if line.strip(b" \t\r"))


@st.composite
def jsonl_lines(draw) -> bytes:
    """Lines of JSON records, of arbitrary bytes, and of records with a hostile token spliced in."""
    kind = draw(st.sampled_from(["record", "bytes", "spliced"]))
    if kind == "bytes":
        return draw(st.binary(max_size=60)).replace(b"\n", b" ")
    text = json.dumps(draw(RECORDS), ensure_ascii=draw(st.booleans()))
    if kind == "spliced":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(TOKENS) + text[at:]
    return text.replace("\n", " ").encode("utf-8", "surrogatepass")


@SETTINGS
@given(st.lists(jsonl_lines(), max_size=8), st.booleans())
def test_the_jsonl_reader_yields_one_record_per_line_and_never_raises(lines, bom):
    data = (codecs.BOM_UTF8 if bom else b"") + b"\n".join(lines) + b"\n"
    records = list(read_jsonl(io.BytesIO(data)))
    assert len(records) == lines_of(data.removeprefix(codecs.BOM_UTF8))
    for item in records:
        assert (item.error is None) == (item.record is not None and check_record(item.record) is None)
        assert item.error is None or item.error.startswith(f"line {item.line}: ")
        json.dumps(item.record, ensure_ascii=False).encode("utf-8")  # whatever is kept can be spooled


@SETTINGS
@given(st.sampled_from(["note_id,text,billed\n", "note_id;text\n", ""]), st.text(max_size=300),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1"]))
def test_the_csv_reader_never_raises_and_says_where_each_error_is(header, text, encoding):
    data = (header + text).encode(encoding, "replace")
    lines = [item.line for item in read_csv(io.BytesIO(data))]
    assert lines == sorted(set(lines)), "records in order, one per starting line"
    for item in read_csv(io.BytesIO(data)):
        assert item.error is None or item.error.startswith(f"line {item.line}: ")


@SETTINGS
@given(JSON_VALUES)
def test_any_parsed_value_is_checked_without_an_exception(value):
    check_record(value)
    check_record({"note_id": "n", "text": "MFR 12 min", "extra": value, "billed": value})


def test_numbers_no_float_holds_are_kept_and_named():
    record = loads('{"a": 1e400, "b": [NaN], "c": -Infinity, "d": ' + "9" * 5000 + ', "e": 1.5, "f": 12}')
    assert all(isinstance(record[key], OutOfRange) for key in "ac") and isinstance(record["b"][0], OutOfRange)
    assert isinstance(record["d"], OutOfRange) and record["e"] == 1.5 and record["f"] == 12
    assert value_problem(record) == "a: 1e400 is not a number that can be read (finite, at most 4,300 digits)"
    assert value_problem({"x": float("inf")}) == "x: inf is not a finite number"
    assert value_problem({"x": {"y": [1, [2, float("nan")]]}}) == "x.y[1][1]: nan is not a finite number"


def test_nesting_past_the_limit_is_named_and_within_it_is_kept():
    assert value_problem({"x": json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))}) is None
    assert value_problem({"x": json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)}).startswith("x[0]")


def test_a_bom_and_utf_16_are_read():
    line = '{"note_id": "a", "text": "MFR 12 min"}\n'
    for data in (codecs.BOM_UTF8 + line.encode(), line.encode("utf-16"), line.encode("utf-16-le"), line.encode("utf-16-be")):
        [item] = read_jsonl(io.BytesIO(data))
        assert item.error is None and item.record["note_id"] == "a"


def test_a_line_longer_than_any_record_is_skipped_not_held():
    data = b'{"note_id": "a", "text": "' + b"x" * 1_100_000 + b'"}\n{"note_id": "b", "text": "ok"}\n'
    first, second = read_jsonl(io.BytesIO(data), max_chars=10)  # lines up to 6 x 10 + 1 MiB bytes are read
    assert "longer than" in first.error and first.line == 1
    assert second.error is None and second.record["note_id"] == "b"


def test_a_csv_field_cut_at_the_limit_takes_its_whole_record_with_it():
    data = b'note_id,text\na,"' + b"x" * 250_000 + b'\nmore text\nend"\nb,ok\n'
    first, second = read_csv(io.BytesIO(data))
    assert first.line == 2 and "a field over 200,000 characters, on lines 2-4" in first.error
    assert second.line == 5 and second.record == {"note_id": "b", "text": "ok"}


def test_a_stray_quote_is_that_rows_error_and_the_next_rows_are_read():
    data = b'note_id,text\na,"MFR said "ok" fine\nb,"S: pain\nTx: MFR 12 min"\n'
    first, second = read_csv(io.BytesIO(data))
    assert first.line == 2 and "unbalanced quote" in first.error
    assert second.record == {"note_id": "b", "text": "S: pain\nTx: MFR 12 min"}
