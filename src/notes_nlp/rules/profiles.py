"""Payer profiles: what one payer accepts, as data.

Payers differ on the unit rule (CMS pooling or per code), on whether minutes
must be documented, on which distinct-procedure modifiers let 97124/97140
stand beside a CMT code, on which credentials they pay for each code, and on
when many units or a run of visits without progress is worth a warning. None
of that belongs in code: each payer is one JSON file, checked field by field
on load so that a typo in a user's file is reported with the file, the field
and what was expected instead of surfacing later as a wrong verdict.

The bundled profiles live in ``rules/payers/`` and are found with
:mod:`importlib.resources`. A note record's ``payer`` only ever names one of
them (:func:`bundled_profile`): a record never reaches the file system. Only
the operator gives a profile by path (:func:`load_profile`, ``--payer-file``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from notes_nlp.codes import code_pattern, distinct_modifiers
from notes_nlp.credentials import credentials
from notes_nlp.rules.units import UnitRule

__all__ = [
    "CREDENTIALS",
    "DEFAULT_PROFILE",
    "PayerProfile",
    "ProfileError",
    "bundled_profile",
    "bundled_profiles",
    "load_profile",
]

#: The profile used when a note names no payer.
DEFAULT_PROFILE = "cms"

#: Credentials a profile may name: the canonical ones of the extraction's vocabulary
#: (:mod:`notes_nlp.credentials`). DPT and DO are among them so that an alias can map
#: them; a profile decides what they mean.
CREDENTIALS: frozenset[str] = credentials()

_PACKAGE = "notes_nlp.rules"
_PAYERS_DIR = "payers"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")

_REQUIRED = (
    "name",
    "version",
    "unit_rule",
    "minutes_required",
    "distinct_modifiers",
    "paid_credentials",
    "credential_aliases",
    "max_units_per_line",
    "max_visits_without_progress",
)
_OPTIONAL = ("description", "sources")
_EXPECTED = {
    "name": "a name such as 'cms'",
    "version": "a version string such as '2026.1'",
    "unit_rule": "one of " + ", ".join(repr(r.value) for r in UnitRule),
    "minutes_required": "true or false",
    "distinct_modifiers": "a list of modifiers such as ['59', 'XS']",
    "paid_credentials": "an object mapping a code to a list of credentials or null",
    "credential_aliases": "an object mapping a credential to the one it counts as",
    "max_units_per_line": "a whole number of at least 1",
    "max_visits_without_progress": "a whole number of at least 1",
}


class ProfileError(ValueError):
    """A payer profile that cannot be used, with the file and field to fix.

    The message reads ``<file>: <field> must be <expected>, got <value>``.
    """

    def __init__(self, source: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
        self.field = field


@dataclass(frozen=True)
class PayerProfile:
    """One payer's billing settings, read from a profile file.

    ``paid_credentials`` maps a code to the credentials the payer pays for it,
    or to ``None`` when any credential is paid; a code the profile does not
    list is not restricted. ``credential_aliases`` maps a credential to the one
    it counts as (DPT -> PT, DO -> MD) wherever credentials are compared.
    """

    name: str
    version: str
    unit_rule: UnitRule
    minutes_required: bool
    """Whether a timed line with no minutes documented at all fails (``units-exceed-time``)
    rather than getting a ``no-time`` warning."""
    distinct_modifiers: tuple[str, ...]
    """Modifiers that mark 97124/97140 as distinct from a CMT code billed the same visit."""
    paid_credentials: Mapping[str, tuple[str, ...] | None]
    credential_aliases: Mapping[str, str]
    max_units_per_line: int
    """``long-duration`` warns when one line bills more units than this."""
    max_visits_without_progress: int
    """``long-duration`` warns from this many follow-up visits in a row that bill a code
    without progress."""
    description: str = ""
    sources: tuple[str, ...] = ()

    def canonical_credential(self, credential: str) -> str:
        """The credential as this payer counts it: upper case, no dots, aliases applied.

        >>> load_profile("cms").canonical_credential("d.p.t.")
        'PT'
        """
        cleaned = credential.strip().upper().replace(".", "")
        return self.credential_aliases.get(cleaned, cleaned)

    def restricts(self, code: str) -> bool:
        """Whether this payer pays ``code`` only for some credentials."""
        return self.paid_credentials.get(code.strip()) is not None

    def pays(self, code: str, credential: str) -> bool:
        """Whether this payer pays ``code`` when performed by ``credential``.

        Aliases apply on both sides, so a DPT is paid where a PT is and a DO
        where an MD is. An unknown credential is paid only for a code the
        profile does not restrict. Who counts as the performer (the one named
        in the text over the signer) is the caller's decision.
        """
        allowed = self.paid_credentials.get(code.strip())
        if allowed is None:
            return True
        canonical = {self.canonical_credential(c) for c in allowed}
        return self.canonical_credential(credential) in canonical

    def accepts_distinct_modifier(self, modifiers: Iterable[str]) -> bool:
        """Whether any of a line's modifiers marks it distinct from a same-visit CMT code."""
        accepted = set(self.distinct_modifiers)
        return any(m.strip().upper() in accepted for m in modifiers)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<profile>") -> PayerProfile:
        """Build a profile from parsed JSON, checking every field; ``source`` names it in errors."""
        return _parse(data, source)


def bundled_profiles() -> list[str]:
    """Names of the profiles shipped with notes-nlp, sorted."""
    return list(_bundled_names())


@cache
def _bundled_names() -> tuple[str, ...]:
    """Listed once: a record's payer is looked up here for every note."""
    folder = resources.files(_PACKAGE).joinpath(_PAYERS_DIR)
    return tuple(sorted(
        entry.name.removesuffix(".json")
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(".json")
    ))


def load_profile(name_or_path: str | os.PathLike[str] = DEFAULT_PROFILE) -> PayerProfile:
    """Load a bundled profile by name (``"cms"``) or, for the operator, a profile file by path.

    A string that contains a path separator or ends in ``.json``, and any
    :class:`os.PathLike`, is a path; anything else is a bundled name. Raises
    :class:`ProfileError` for an unknown name, an unreadable file, bad JSON
    or a bad field. Never give it a note record's ``payer``: that is
    :func:`bundled_profile`'s.
    """
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(name_or_path):
        path = Path(name_or_path)
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProfileError(source, "no such payer profile file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(source, f"cannot read the payer profile: {exc}") from None
        return _parse(_decode(text, source), source)
    try:
        return bundled_profile(name_or_path)
    except ProfileError as exc:
        raise ProfileError(exc.source, f"{exc.message}; or give the path of a profile JSON file") from None


def bundled_profile(name: str) -> PayerProfile:
    """The bundled profile a note record's ``payer`` names. Only a name: a path, or anything
    not bundled, is a ProfileError and no file is opened (``"/dev/zero"`` would be read for
    ever, ``"/etc/passwd"`` reported on)."""
    if not isinstance(name, str) or name not in _bundled_names():
        known = ", ".join(repr(n) for n in _bundled_names())
        shown = repr(name) if len(repr(name)) <= 42 else repr(name)[:40] + "…"
        raise ProfileError(f"payer {shown}", f"no bundled payer profile of that name; bundled: {known}")
    return _load_bundled(name)


@cache
def _load_bundled(name: str) -> PayerProfile:
    """A bundled profile, parsed once: profiles are immutable, and batches ask often."""
    filename = f"{name}.json"
    text = resources.files(_PACKAGE).joinpath(_PAYERS_DIR, filename).read_text("utf-8")
    profile = _parse(_decode(text, filename), filename)
    if profile.name != name:
        raise ProfileError(
            filename, f"name must be {name!r} (the file's name), got {profile.name!r}", "name"
        )
    return profile


def _looks_like_path(value: str) -> bool:
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return value.endswith(".json") or any(s in value for s in seps)


def _decode(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(
            source, f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def _parse(data: Any, source: str) -> PayerProfile:
    """Check each field of a decoded profile and build the :class:`PayerProfile`."""
    check = _Checker(source)
    if not isinstance(data, dict):
        raise ProfileError(source, f"a payer profile must be a JSON object, got {_show(data)}")
    for key in data:
        if key not in _REQUIRED and key not in _OPTIONAL:
            fields = ", ".join(_REQUIRED + _OPTIONAL)
            raise ProfileError(source, f"{key} is not a profile field; fields are: {fields}", key)
    for key in _REQUIRED:
        if key not in data:
            raise ProfileError(source, f"{key} is missing; expected {_EXPECTED[key]}", key)

    name = check.text(data, "name")
    if not _NAME_RE.match(name):
        check.fail(
            "name", "letters, digits, '.', '_' or '-', starting with a letter or digit", name
        )
    rules = ", ".join(repr(r.value) for r in UnitRule)
    raw_rule = data["unit_rule"]
    if not isinstance(raw_rule, str) or raw_rule not in {r.value for r in UnitRule}:
        check.fail("unit_rule", f"one of {rules}", raw_rule)
    aliases = check.aliases(data, "credential_aliases")
    return PayerProfile(
        name=name,
        version=check.text(data, "version"),
        description=check.text(data, "description", allow_empty=True)
        if "description" in data
        else "",
        unit_rule=UnitRule(raw_rule),
        minutes_required=check.flag(data, "minutes_required"),
        distinct_modifiers=check.modifiers(data, "distinct_modifiers"),
        paid_credentials=check.paid(data, "paid_credentials"),
        credential_aliases=aliases,
        max_units_per_line=check.positive(data, "max_units_per_line"),
        max_visits_without_progress=check.positive(data, "max_visits_without_progress"),
        sources=check.sources(data, "sources") if "sources" in data else (),
    )


class _Checker:
    """Field checks raising :class:`ProfileError` with the file, the field and what was expected."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field_name: str, expected: str, got: Any) -> NoReturn:
        raise ProfileError(
            self.source, f"{field_name} must be {expected}, got {_show(got)}", field_name
        )

    def text(self, data: dict[str, Any], key: str, allow_empty: bool = False) -> str:
        value = data[key]
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            self.fail(key, "a string" if allow_empty else "a non-empty string", value)
        return value

    def flag(self, data: dict[str, Any], key: str) -> bool:
        value = data[key]
        if not isinstance(value, bool):
            self.fail(key, "true or false", value)
        return value

    def positive(self, data: dict[str, Any], key: str) -> int:
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(key, "a whole number of at least 1", value)
        return value

    def modifiers(self, data: dict[str, Any], key: str) -> tuple[str, ...]:
        value = data[key]
        accepted = distinct_modifiers()
        if not isinstance(value, list):
            self.fail(key, f"a list of modifiers from {_listing(accepted)}", value)
        for i, mod in enumerate(value):
            if mod not in accepted:
                self.fail(f"{key}[{i}]", f"one of {_listing(accepted)}", mod)
        return tuple(dict.fromkeys(value))

    def credential(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or value not in CREDENTIALS:
            self.fail(key, f"one of {_listing(sorted(CREDENTIALS))}", value)
        return value

    def paid(self, data: dict[str, Any], key: str) -> Mapping[str, tuple[str, ...] | None]:
        value = data[key]
        if not isinstance(value, dict):
            self.fail(key, "an object mapping a code to a list of credentials or null", value)
        out: dict[str, tuple[str, ...] | None] = {}
        for code, creds in value.items():
            where = f"{key}[{code!r}]"
            if not isinstance(code, str) or not code_pattern().fullmatch(code):
                self.fail(f"{key} key", "a CPT or HCPCS code such as '97140'", code)
            if creds is None:
                out[code] = None
                continue
            if not isinstance(creds, list):
                self.fail(where, "a list of credentials, or null for any credential", creds)
            out[code] = tuple(self.credential(f"{where}[{i}]", c) for i, c in enumerate(creds))
        return MappingProxyType(out)

    def aliases(self, data: dict[str, Any], key: str) -> Mapping[str, str]:
        value = data[key]
        if not isinstance(value, dict):
            self.fail(key, "an object mapping a credential to the one it counts as", value)
        for alias, target in value.items():
            self.credential(f"{key} key", alias)
            self.credential(f"{key}[{alias!r}]", target)
            if target == alias or target in value:
                self.fail(f"{key}[{alias!r}]", "a credential that is not itself an alias", target)
        return MappingProxyType(dict(value))

    def sources(self, data: dict[str, Any], key: str) -> tuple[str, ...]:
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            self.fail(key, "a list of non-empty strings", value)
        return tuple(value)


def _listing(values: Iterable[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _show(value: Any) -> str:
    """A value as the user wrote it, with its JSON type when that is the problem."""
    kinds = {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
        type(None): "null",
    }
    try:
        shown = repr(value) if isinstance(value, str) else json.dumps(value)
    except (TypeError, ValueError):
        shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    kind = kinds.get(type(value), type(value).__name__)
    return shown if isinstance(value, str) else f"{shown} ({kind})"
