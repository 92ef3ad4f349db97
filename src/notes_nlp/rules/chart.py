"""A chart: the notes of one episode of care, read in date order.

Goals set in an evaluation or plan of care count for the visits that follow;
progress is judged visit by visit; a run of follow-up visits billing a code
without progress is what ``long-duration`` watches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from notes_nlp.rules.facts import NoteFacts


@dataclass(frozen=True)
class ChartContext:
    """What the earlier notes of its chart tell about one note."""

    follow_up: bool = False
    earlier_goals: tuple[dict[str, Any], ...] = ()
    visits_without_progress: Mapping[str, int] = field(default_factory=dict)


LONE_NOTE = ChartContext()


def chart_contexts(notes: Sequence[NoteFacts]) -> list[ChartContext]:
    """One context per note of a chart, the notes given in date order."""
    contexts: list[ChartContext] = []
    goals: list[dict[str, Any]] = []
    streaks: dict[str, int] = {}
    for position, facts in enumerate(notes):
        follow_up = position > 0
        has_progress = bool(facts.mentions("PROGRESS"))
        codes = {line.code for line in facts.muscle_work_lines}
        streaks = {
            code: (streaks.get(code, 0) + 1 if follow_up and not has_progress else 0)
            for code in codes
        }
        contexts.append(ChartContext(follow_up, tuple(goals), dict(streaks)))
        goals.extend(facts.measurable_goals)
    return contexts
