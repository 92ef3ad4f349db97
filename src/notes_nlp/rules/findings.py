"""What the rules say about a billed line: findings with their evidence, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Evidence:
    """A span of the note that decided a finding (offsets into the note text)."""

    start: int
    end: int
    text: str

    @classmethod
    def of(cls, entity: dict[str, Any]) -> "Evidence":
        return cls(entity["start"], entity["end"], entity["text"])

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True)
class Finding:
    """One rule's judgement of one billed line. No evidence means the rule noticed an absence."""

    rule: str
    severity: str
    message: str
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class LineJudgement:
    """The rules' view of one 97124/97140 line: its findings and the code the note best fits."""

    index: int
    code: str
    units: int
    suggested_code: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def supported(self) -> bool:
        """docs/rubric.md: a line is unsupported exactly when an error finding applies."""
        return not self.errors
