"""The hostile-input suite: crafted records, malformed exports and abusive bodies, through
`notes-nlp score` and the service. Each good record is scored, each bad one gets an error that
names the field (or says what is wrong with the line or the file), nothing is lost, and there
is no traceback and no 500."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from notes_nlp.cli import app as cli
from notes_nlp.service.app import Settings, create_app

TEXT = ("S: neck pain 5/10. O: cervical rotation R 45 deg. Dx M54.2.\nTx: MFR to R upper trapezius 12 min to restore rotation.\n"
        "Goal: rotation 70 deg and check blind spot without pain in 4 wks.")
BILLED = '[{"code": "97140", "units": 1, "minutes": 12}]'
FILLER = "Pt seen today, doing well. "  # long notes of it score in a second (one dense with mentions would not: see the report)


def long_text(characters: int) -> str:
    return (FILLER * (characters // len(FILLER)))[: characters - len(TEXT) - 1] + " " + TEXT


@dataclass(frozen=True)
class Kind:
    """One kind of input record: its JSONL line (``{id}`` for its note_id), and what its error must
    hold (None: it must be scored). ``cli_only``: a line the service's body cannot carry (not
    JSON, or a rule of a whole file such as duplicate note_ids)."""

    name: str
    line: str
    error: str | None
    cli_only: bool = False


def record(**fields: str) -> str:
    """A record's JSON text: a good note with ``fields`` (JSON texts, written as given) replaced."""
    parts = {"note_id": '"{id}"', "text": json.dumps(TEXT), "billed": BILLED, **fields}
    return "{" + ", ".join(f'"{key}": {value}' for key, value in parts.items() if value is not None) + "}"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def units(value: str) -> str:
    return record(billed='[{"code": "97140", "units": %s}]' % value)


def minutes(value: str) -> str:
    return record(billed='[{"code": "97140", "minutes": %s}]' % value)


KINDS = [
    # numbers no float or int holds, and other units and minutes
    Kind("units 1e400", units("1e400"), "billed[0].units"),
    Kind("units -1e400", units("-1e400"), "billed[0].units"),
    Kind("units 'inf'", units('"inf"'), "billed[0].units"),
    Kind("units '-inf'", units('"-inf"'), "billed[0].units"),
    Kind("units 'Infinity'", units('"Infinity"'), "billed[0].units"),
    Kind("units NaN", units("NaN"), "billed[0].units"),
    Kind("units 'nan'", units('"nan"'), "billed[0].units"),
    Kind("units Infinity", units("Infinity"), "billed[0].units"),
    Kind("units 400 digits", units("9" * 400), "billed[0].units"),
    Kind("units 5,000 digits", units("9" * 5000), "billed[0].units"),
    Kind("units '1e400'", units('"1e400"'), "billed[0].units"),
    Kind("units 400-digit string", units(json.dumps("9" * 400)), "billed[0].units"),
    Kind("units 2.5", units("2.5"), "billed[0].units"),
    Kind("units true", units("true"), "billed[0].units"),
    Kind("units 0", units("0"), "billed[0].units"),
    Kind("units 25", units("25"), "billed[0].units"),
    Kind("units -1", units("-1"), "billed[0].units"),
    Kind("units []", units("[]"), "billed[0].units"),
    Kind("units {}", units("{}"), "billed[0].units"),
    Kind("units 'two'", units('"two"'), "billed[0].units"),
    Kind("minutes Infinity", minutes("Infinity"), "billed[0].minutes"),
    Kind("minutes -Infinity", minutes("-Infinity"), "billed[0].minutes"),
    Kind("minutes NaN", minutes("NaN"), "billed[0].minutes"),
    Kind("minutes 1e400", minutes("1e400"), "billed[0].minutes"),
    Kind("minutes 5,000 digits", minutes("1" * 5000), "billed[0].minutes"),
    Kind("minutes 721", minutes("721"), "billed[0].minutes"),
    Kind("minutes '12 min'", minutes('"12 min"'), "billed[0].minutes"),
    Kind("an extra field 1e400", record(extra="1e400"), "extra"),
    Kind("an extra field NaN", record(extra="[1, 2, NaN]"), "extra[2]"),
    Kind("an extra field of 5,000 digits", record(extra="-" + "7" * 5000), "extra"),
    Kind("a top-level number 1e400", "1e400", "expected a JSON object, got a number"),
    # nesting
    Kind("an extra field nested 40 deep", record(extra=nested(40)), "extra"),
    Kind("an extra field nested 200 deep", record(extra=nested(200)), "extra"),
    Kind("an extra field nested 1,000 deep", record(extra=nested(1000)), "extra", cli_only=True),
    Kind("an extra field nested 100,000 deep", record(extra=nested(100_000)), "extra", cli_only=True),
    Kind("billed nested 50 deep", record(billed=nested(50)), "billed"),
    # ids, charts, credentials, payers, dates of the wrong kind
    Kind("note_id a list", record(note_id='["a"]'), "note_id"),
    Kind("note_id an object", record(note_id='{"id": "a"}'), "note_id"),
    Kind("note_id true", record(note_id="true"), "note_id"),
    Kind("note_id 1.5", record(note_id="1.5"), "note_id"),
    Kind("note_id 1e400", record(note_id="1e400"), "note_id"),
    Kind("note_id of 300 characters", record(note_id=json.dumps("n" * 300)), "note_id"),
    Kind("note_id missing", record(note_id=None), "note_id"),
    Kind("note_id empty", record(note_id='""'), "note_id"),
    Kind("note_id a lone surrogate", record(note_id='"n\\ud800"'), "note_id"),
    Kind("chart_id a list", record(chart_id='["c"]'), "chart_id"),
    Kind("chart_id an object", record(chart_id='{"c": 1}'), "chart_id"),
    Kind("chart_id 2.5", record(chart_id="2.5"), "chart_id"),
    Kind("chart_id false", record(chart_id="false"), "chart_id"),
    Kind("provider_credential a list", record(provider_credential='["DC"]'), "provider_credential"),
    Kind("provider_credential an object", record(provider_credential='{"c": "DC"}'), "provider_credential"),
    Kind("provider_credential a number", record(provider_credential="7"), "provider_credential"),
    Kind("provider_credential of 500 characters", record(provider_credential=json.dumps("D" * 500)), "provider_credential"),
    Kind("payer /etc/passwd", record(payer='"/etc/passwd"'), "payer"),
    Kind("payer /dev/zero", record(payer='"/dev/zero"'), "payer"),
    Kind("payer a model's meta.json", record(payer='"src/notes_nlp/model/default/meta.json"'), "payer"),
    Kind("payer ../ path", record(payer='"../src/notes_nlp/rules/payers/cms"'), "payer"),
    Kind("payer cms.json", record(payer='"cms.json"'), "payer"),
    Kind("payer an unknown name", record(payer='"acme-health"'), "payer"),
    Kind("payer CMS in capitals", record(payer='"CMS"'), "payer"),
    Kind("payer 7", record(payer="7"), "payer"),
    Kind("payer a list", record(payer='["cms"]'), "payer"),
    Kind("payer of 10,000 characters", record(payer=json.dumps("p" * 10_000)), "payer"),
    Kind("date 2026-02-30", record(date='"2026-02-30"'), "date"),
    Kind("date 2/30/2026", record(date='"2/30/2026"'), "date"),
    Kind("date 2026-3-2", record(date='"2026-3-2"'), "date"),
    Kind("date 13/1/2026", record(date='"13/1/2026"'), "date"),
    Kind("date 'yesterday'", record(date='"yesterday"'), "date"),
    Kind("date a number", record(date="20260304"), "date"),
    Kind("date a list", record(date='["2026-03-04"]'), "date"),
    Kind("date 0000-00-00", record(date='"0000-00-00"'), "date"),
    # texts
    Kind("text only NUL", record(text='"\\u0000\\u0000\\u0000"'), "text"),
    Kind("text only control characters", record(text='"\\u0001\\u0007\\u001b\\u007f"'), "text"),
    Kind("text blank", record(text='"  \\n\\t "'), "text"),
    Kind("text empty", record(text='""'), "text"),
    Kind("text missing", record(text=None), "text"),
    Kind("text a number", record(text="42"), "text"),
    Kind("text a list", record(text='["MFR 12 min"]'), "text"),
    Kind("text over 200,000 characters", record(text=json.dumps(long_text(200_001))), "text"),
    Kind("good: text of 200,000 characters", record(text=json.dumps(long_text(200_000))), None),
    Kind("text a lone surrogate", record(text='"MFR \\udaf2 12 min"'), "text"),
    Kind("a key a lone surrogate", record(**{"x\\udc00": "1"}), "key"),
    # billed lines
    Kind("billed a string", record(billed='"97140x1"'), "billed"),
    Kind("billed an object", record(billed='{"code": "97140"}'), "billed"),
    Kind("billed a list of strings", record(billed='["97140"]'), "billed[0]"),
    Kind("billed code of 4 digits", record(billed='[{"code": "9714"}]'), "billed[0].code"),
    Kind("billed code a list", record(billed='[{"code": ["97140"]}]'), "billed[0].code"),
    Kind("billed code missing", record(billed='[{"units": 1}]'), "billed[0].code"),
    Kind("billed modifiers of 1 character", record(billed='[{"code": "97140", "modifiers": ["5"]}]'), "billed[0].modifiers"),
    Kind("billed modifiers an object", record(billed='[{"code": "97140", "modifiers": {"m": "59"}}]'), "billed[0].modifiers"),
    Kind("billed second line bad", record(billed='[{"code": "97140"}, {"code": "98940", "units": "inf"}]'), "billed[1].units"),
    # records that are not objects, lines that are not records
    Kind("an array", '["an", "array"]', "expected a JSON object, got an array"),
    Kind("a string", '"a note"', "expected a JSON object, got a string"),
    Kind("null", "null", "expected a JSON object, got null"),
    Kind("a number", "42", "expected a JSON object, got a number"),
    Kind("NaN alone", "NaN", "expected a JSON object, got a number"),
    Kind("true", "true", "expected a JSON object, got true"),
    Kind("truncated JSON", '{"note_id": "{id}", "text": "MFR 12', "invalid JSON", cli_only=True),
    Kind("trailing garbage", record() + " x", "invalid JSON", cli_only=True),
    Kind("two records on one line", record() + record(), "invalid JSON", cli_only=True),
    Kind("not UTF-8", '{"note_id": "{id}", "text": "caf\udcff 12 min"}', "not UTF-8", cli_only=True),
    Kind("NUL bytes", "\x00\x00\x00", "invalid JSON", cli_only=True),
    Kind("a repeated note_id", record(note_id='"good: a plain note"'), "duplicate note_id", cli_only=True),
    # good records a hostile file may hold: each must be scored
    Kind("good: a plain note", record(), None),
    Kind("good: XS modifier", record(billed='[{"code": "97140", "modifiers": ["XS"], "units": 1}]'), None),
    Kind("good: units as a string", units('"1"'), None),
    Kind("good: units 1.0", units("1.0"), None),
    Kind("good: NUL inside a real note", record(text=json.dumps(TEXT + "\x00")), None),
    Kind("good: script markup in the note", record(text=json.dumps(TEXT + " <!--<script>alert(1)</script>")), None),
    Kind("good: formula-like note_id", record(note_id='"=HYPERLINK(\\"x\\")"'), None),
    Kind("good: integer note_id", record(note_id="12345"), None),
    Kind("good: US date", record(date='"3/4/2026"'), None),
    Kind("good: ISO date", record(date='"2026-03-04"'), None),
    Kind("good: empty date", record(date='""'), None),
    Kind("good: an unknown field nested 10 deep", record(extra=nested(10)), None),
    Kind("good: a commercial payer", record(payer='"commercial-strict"', provider_credential='"DC"'), None),
    Kind("good: a big but readable number in an extra field", record(extra="9" * 300), None),
]


def jsonl(kinds: list[Kind]) -> tuple[bytes, list[Kind]]:
    """The kinds as one JSONL file, and in its order: a repeated note_id after the note it repeats."""
    ordered = sorted(kinds, key=lambda kind: kind.name == "a repeated note_id")
    lines = [kind.line.replace("{id}", kind.name) for kind in ordered]
    return "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape"), ordered


def assert_outcome(kind: Kind, out: dict, prefix: str = "") -> None:
    if kind.error is None:
        assert out["error"] is None and out["lines"], f"{kind.name}: should be scored, got {out['error']!r}"
    else:
        assert out["error"] and kind.error in out["error"], f"{kind.name}: {out['error']!r} should name {kind.error!r}"
        assert out["error"].startswith(prefix), f"{kind.name}: {out['error']!r} says where"


def test_there_are_at_least_80_kinds_of_record_and_more_of_files_and_bodies():
    assert len(KINDS) >= 80 and len(CSV_KINDS) >= 20 and len(BODY_KINDS) >= 15
    assert len({kind.name for kind in KINDS}) == len(KINDS)


@pytest.mark.slow
def test_notes_nlp_score_scores_each_good_record_and_names_each_bad_ones_field(tmp_path):
    data, ordered = jsonl(KINDS)
    source = tmp_path / "hostile.jsonl"
    source.write_bytes(data)
    run = subprocess.run([sys.executable, "-m", "notes_nlp.cli", "score", str(source), "-o", str(tmp_path / "out.jsonl")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(out) == len(ordered), "one output record per input record"
    for number, (kind, scored) in enumerate(zip(ordered, out), start=1):
        assert_outcome(kind, scored, prefix=f"line {number}:")
    assert f"{len(ordered)} notes ({sum(k.error is not None for k in ordered)} with errors)" in run.stderr


@pytest.fixture(scope="module")
def service():
    with TestClient(create_app(Settings())) as client:
        yield client


SERVICE_KINDS = [kind for kind in KINDS if not kind.cli_only]


def score_body(kinds: list[Kind]) -> bytes:
    return ('{"records": [' + ", ".join(kind.line.replace("{id}", kind.name) for kind in kinds) + "]}").encode("utf-8")


def test_post_v1_score_scores_each_good_record_and_names_each_bad_ones_field(service, caplog):
    response = service.post("/v1/score", content=score_body(SERVICE_KINDS), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    out = response.json()["records"]
    assert len(out) == len(SERVICE_KINDS)
    for kind, scored in zip(SERVICE_KINDS, out):
        assert_outcome(kind, scored)
    assert "unhandled" not in caplog.text


def test_a_bad_record_never_fails_the_checks_scored_beside_it(service):
    """The issue's case: /v1/score with "units": "inf" failed with a 500, and 13 of 15 checks
    batched beside it. Now: the bad records are their own errors, and every check is answered."""
    good = json.loads(record().replace("{id}", "check"))
    bad = score_body([kind for kind in SERVICE_KINDS if kind.error] * 3)

    def check(_: int) -> int:
        return service.post("/v1/check", json=good).status_code

    def score_bad() -> int:
        return service.post("/v1/score", content=bad, headers={"content-type": "application/json"}).status_code

    with ThreadPoolExecutor(8) as pool:
        scored = pool.submit(score_bad)
        checks = list(pool.map(check, range(15)))
    assert scored.result() == 200 and checks == [200] * 15


@dataclass(frozen=True)
class Body:
    """A request the service must refuse, with the status and what the answer must say."""

    name: str
    path: str
    body: bytes
    status: int
    says: str


CHECK = record().replace("{id}", "check")
BODY_KINDS = [
    Body("a body of 5,000 digits", "/v1/score", b"9" * 5000, 422, "not a number that can be read"),
    Body("a body NaN", "/v1/score", b"NaN", 422, "not a number that can be read"),
    Body("a body nested 100,000 deep", "/v1/score", nested(100_000).encode(), 422, "nested deeper than the parser can follow"),
    Body("records nested 100,000 deep", "/v1/score", b'{"records": ' + nested(100_000).encode() + b"}", 422, "records: nested deeper"),
    Body("a body not UTF-8", "/v1/score", b'{"records": [{"note_id": "a", "text": "caf\xe9"}]}', 400, "send UTF-8 JSON"),
    Body("a body truncated", "/v1/score", b'{"records": [', 422, "JSON decode error"),
    Body("records not a list", "/v1/score", b'{"records": {"note_id": "a"}}', 422, "records"),
    Body("records empty", "/v1/score", b'{"records": []}', 422, "records"),
    Body("records 1,001", "/v1/score", b'{"records": [' + b",".join([b"1"] * 1001) + b"]}", 422, "records"),
    Body("a body over the size limit", "/v1/score", b'{"records": ["' + b"x" * (1 << 20) + b'"]}', 413, "NOTES_NLP_MAX_BODY_BYTES"),
    Body("a check with units 1e400", "/v1/check", CHECK.replace('"units": 1', '"units": 1e400').encode(), 422, "billed[0].units"),
    Body("a check with units 'inf'", "/v1/check", CHECK.replace('"units": 1', '"units": "inf"').encode(), 422, "billed[0].units"),
    Body("a check with minutes NaN", "/v1/check", CHECK.replace('"minutes": 12', '"minutes": NaN').encode(), 422, "billed[0].minutes"),
    Body("a check with NUL text", "/v1/check", record(text='"\\u0000\\u0000"').replace("{id}", "c").encode(), 422, "text"),
    Body("a check with a payer path", "/v1/check", record(payer='"/etc/passwd"').replace("{id}", "c").encode(), 422, "payer"),
    Body("a check with an impossible date", "/v1/check", record(date='"2026-02-30"').replace("{id}", "c").encode(), 422, "date"),
    Body("a check with a list note_id", "/v1/check", record(note_id='["a"]').encode(), 422, "note_id"),
    Body("a check with an extra field nested 200 deep", "/v1/check", record(extra=nested(200)).replace("{id}", "c").encode(), 422, "extra"),
    Body("a check with a 5,000-digit extra field", "/v1/check", record(extra="1" * 5000).replace("{id}", "c").encode(), 422, "extra"),
]


@pytest.mark.parametrize("kind", BODY_KINDS, ids=lambda kind: kind.name)
def test_a_body_the_service_cannot_score_is_refused_with_what_is_wrong(service, kind):
    response = service.post(kind.path, content=kind.body, headers={"content-type": "application/json"})
    assert response.status_code == kind.status, response.text[:300]
    assert kind.says in response.text


# --- files as clinics export them ---------------------------------------------------------

HEADER = "note_id,text,billed,payer\n"
GOOD_ROW = f'a,"{TEXT}",97140-XSx1,cms\nb,"{TEXT}","97140-XE;98940",cms\n'


@dataclass(frozen=True)
class CsvKind:
    """A CSV file as an export may write it, and per record what its error must hold (None:
    scored)."""

    name: str
    data: bytes
    errors: list[str | None]
    options: tuple[str, ...] = ()


CSV_KINDS = [
    CsvKind("UTF-8 with a byte-order mark (Excel's CSV UTF-8)", codecs.BOM_UTF8 + (HEADER + GOOD_ROW).encode(), [None, None]),
    CsvKind("UTF-16 with a byte-order mark", (HEADER + GOOD_ROW).encode("utf-16"), [None, None]),
    CsvKind("UTF-16 big-endian with a byte-order mark", codecs.BOM_UTF16_BE + (HEADER + GOOD_ROW).encode("utf-16-be"), [None, None]),
    CsvKind("UTF-16 without a byte-order mark", (HEADER + GOOD_ROW).encode("utf-16-le"), [None, None]),
    CsvKind("semicolon-separated", f'note_id;text;billed\na;"{TEXT}";97140x1\nb;"{TEXT}";"97140-XE;98940"\n'.encode(), [None, None]),
    CsvKind("tab-separated", f"note_id\ttext\tbilled\na\t{TEXT.replace(chr(10), ' ')}\t97140x1\n".encode(), [None]),
    CsvKind("Windows line ends", (HEADER + GOOD_ROW).replace("\n", "\r\n").encode(), [None, None]),
    CsvKind("an unbalanced quote", f'note_id,text,billed\na,"{TEXT}",97140x1\nb,"MFR said "ok" fine,97140x1\nc,"{TEXT}",97140x1\n'.encode(),
            [None, "unbalanced quote", None]),
    CsvKind("a quote left open to the end", f'note_id,text,billed\na,"{TEXT}",97140x1\nb,"MFR 12 min,97140x1\n'.encode(), [None, "unbalanced quote"]),
    CsvKind("a row with an extra field", f'{HEADER}a,"{TEXT}",97140x1,cms,extra\nb,"{TEXT}",97140x1,cms\n'.encode(), ["5 fields", None]),
    CsvKind("a row with a missing field", f'{HEADER}a,"{TEXT}"\nb,"{TEXT}",97140x1,cms\n'.encode(), ["2 fields", None]),
    CsvKind("no note_id column", f'id,body\na,"{TEXT}"\n'.encode(), ["no note_id or text column"]),
    CsvKind("Latin-1 bytes", f'{HEADER}a,"{TEXT} café",97140x1,cms\n'.encode("latin-1"), ["text: not UTF-8"]),
    CsvKind("rows of empty cells", f'{HEADER},,,\n\na,"{TEXT}",97140x1,cms\n,,,\n'.encode(), [None]),
    CsvKind("a note of 150,000 characters (over Python's default field limit)", f'{HEADER}a,"{long_text(150_000)}",97140x1,cms\nb,"{TEXT}",97140x1,cms\n'.encode(), [None, None]),
    CsvKind("a note of 200,000 characters", f'{HEADER}a,"{long_text(200_000)}",97140x1,cms\n'.encode(), [None]),
    CsvKind("a note of 252,000 characters", f'{HEADER}a,"{long_text(252_000)}",97140x1,cms\nb,"{TEXT}",97140x1,cms\n'.encode(), ["over 200,000 characters", None]),
    CsvKind("a note of 252,000 characters with --max-chars 300000", f'{HEADER}a,"{long_text(252_000)}",97140x1,cms\n'.encode(), [None], ("--max-chars", "300000")),
    CsvKind("a note over --max-chars 1000", f'{HEADER}a,"{long_text(1_200)}",97140x1,cms\nb,"{TEXT}",97140x1,cms\n'.encode(), ["text has 1,200 characters, over the limit of 1,000", None], ("--max-chars", "1000")),
    CsvKind("a billed column that cannot be read", f'{HEADER}a,"{TEXT}",97140-x-y-z,cms\n'.encode(), ["billed: cannot read"]),
    CsvKind("units in the billed column over 24", f'{HEADER}a,"{TEXT}",97140x99,cms\n'.encode(), ["billed[0].units"]),
    CsvKind("a payer path in a CSV", f'{HEADER}a,"{TEXT}",97140x1,/etc/passwd\n'.encode(), ["payer"]),
    CsvKind("an impossible date in a CSV", f'note_id,text,billed,date\na,"{TEXT}",97140x1,2/30/2026\n'.encode(), ["date"]),
    CsvKind("a NUL-only note in a CSV", f'{HEADER}a,"\x00\x00",97140x1,cms\n'.encode(), ["text"]),
    CsvKind("a formula as note_id", f'{HEADER}"=HYPERLINK(""http://x"")","{TEXT}",97140x1,cms\n'.encode(), [None]),
]


@pytest.mark.parametrize("kind", CSV_KINDS, ids=lambda kind: kind.name)
def test_a_file_as_clinics_export_it_is_read_right_or_diagnosed(tmp_path, kind):
    source = tmp_path / "notes.csv"
    source.write_bytes(kind.data)
    result = CliRunner().invoke(cli, ["score", str(source), "-o", str(tmp_path / "out.jsonl"), "--rules-only", *kind.options])
    assert result.exit_code == 0 and result.exception is None, result.output
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [bool(o["error"]) for o in out] == [e is not None for e in kind.errors], [o["error"] for o in out]
    for expected, scored in zip(kind.errors, out):
        if expected is None:
            assert scored["lines"], scored
        else:
            assert expected in scored["error"] and scored["error"].startswith("line "), scored["error"]


def test_the_xs_and_xe_modifiers_of_the_billed_column_are_read(tmp_path):
    source = tmp_path / "notes.csv"
    source.write_bytes((HEADER + GOOD_ROW).encode())
    result = CliRunner().invoke(cli, ["score", str(source), "-o", str(tmp_path / "out.jsonl"), "--rules-only"])
    assert result.exit_code == 0
    first, second = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(line["code"], line["units"]) for line in first["lines"]] == [("97140", 1)]
    assert [line["code"] for line in second["lines"]] == ["97140"]
