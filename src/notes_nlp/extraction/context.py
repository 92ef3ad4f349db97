"""ConText: is a technique performed, negated, planned or historical?

A cue ("declined", "will", "hx of", "[ ]") changes the status of the targets
in its scope: the tokens on its side (forward, backward or both), up to
``max_scope`` tokens away, never across a sentence end or a terminate cue.
When several cues reach a target the nearest decides, and the cue is kept on
the span so an auditor can see why. Pseudo cues ("no change", "[x]") match
first and block the shorter cues inside them. Rules: ``resources/context.jsonl``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from notes_nlp.extraction.extensions import SPANS_KEY, attributes
from notes_nlp.labels import HISTORICAL, NEGATED, PERFORMED, STATUS_LABELS
from notes_nlp.extraction.resources import read_jsonl
from notes_nlp.extraction.sections import section_of, section_start
from notes_nlp.extraction.text_index import Sentence, note_text, sentence_of
from notes_nlp.extraction.token_patterns import AnchoredMatcher

FORWARD, BACKWARD, BIDIRECTIONAL = "forward", "backward", "bidirectional"
PSEUDO, TERMINATE = "pseudo", "terminate"
TECHNIQUES = frozenset({"MASSAGE_TECHNIQUE", "MANUAL_TECHNIQUE"})
_ITEM_LINES = 3  # how many lines a wrapped item may go on for
_NEW_ITEM = re.compile(r"[ \t]*(?:[-*•·◦▪>#\[☐□☑☒]|\d{1,2}[.)]\s|[A-Za-z][\w /&'()-]{0,30}:)")
AFFIRMED = PERFORMED  # cues such as "performed", "today": the mention was done this visit


@dataclass(frozen=True)
class ContextRule:
    category: str
    direction: str = BIDIRECTIONAL
    max_scope: int = 5
    sections: frozenset[str] | None = None
    not_sections: frozenset[str] = frozenset()
    targets: frozenset[str] = STATUS_LABELS
    ends: frozenset[str] | None = None  # terminate cues: the categories whose scopes they end
    retracts: bool = False  # a negation about the visit: the technique was not done, wherever else named


@dataclass(frozen=True)
class Cue:
    rule: ContextRule
    start: int  # token index
    end: int
    text: str


class ContextAnnotator:
    """Set ``span._.status``, ``span._.cue`` and ``span._.section`` on every mention."""

    def __init__(self, nlp: Language) -> None:
        # Phrase cues go to a PhraseMatcher (a trie: one pass whatever their number); the few
        # cues that need token patterns are tried only around their anchor words.
        self.phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.rules: list[ContextRule] = []
        patterns: list[list[dict]] = []
        self.pattern_rules: list[int] = []  # the rule of each pattern
        self.section_defaults: dict[str, tuple[str, frozenset[str]]] = {}
        self.trial = self.stopped = self.carried_forward = self.block_end = None
        for record in read_jsonl("context.jsonl"):
            if "trial" in record:
                self.trial, self.stopped = _words(record["trial"]), _words(record["stopped"])
                continue
            if "carried_forward" in record:
                self.carried_forward, self.block_end = _words(record["carried_forward"]), _words(record["block_end"])
                continue
            if "section" in record:
                targets = frozenset(record["targets"]) if "targets" in record else STATUS_LABELS
                self.section_defaults[record["section"]] = (record["default"], targets)
                continue
            self._add(nlp, record, patterns)
        self.patterns = AnchoredMatcher(nlp.vocab, patterns)

    def _add(self, nlp: Language, record: dict, patterns: list[list[dict]]) -> None:
        rule = ContextRule(
            category=record["category"],
            direction=record.get("direction", BIDIRECTIONAL),
            max_scope=record.get("max_scope", 5),
            sections=frozenset(record["sections"]) if "sections" in record else None,
            not_sections=frozenset(record.get("not_sections", ())),
            targets=frozenset(record["targets"]) if "targets" in record else STATUS_LABELS,
            ends=frozenset(record["ends"]) if "ends" in record else None,
            retracts=record.get("retracts", False),
        )
        if "pattern" in record:
            patterns.append(record["pattern"])
            self.pattern_rules.append(len(self.rules))
        else:
            self.phrases.add(str(len(self.rules)), [nlp.make_doc(record["cue"])])
        self.rules.append(rule)

    def cues(self, doc: Doc, sentences: list[Sentence]) -> list[Cue]:
        """Matched cues in these sentences, longest first where they overlap (so "no change"
        beats "no"). A cue only reaches targets of its own sentence, so sentences without a
        target are not searched."""
        spans = [span for sent in sentences for span in self.phrases(doc[sent.start : sent.end], as_spans=True)]
        spans += [
            Span(doc, start, end, label=str(self.pattern_rules[index]))
            for index, start, end in self.patterns(doc, [(sent.start, sent.end) for sent in sentences])
        ]
        return [
            Cue(self.rules[int(span.label_)], span.start, span.end, span.text)
            for span in filter_spans(spans)
            if self._applies_in_section(self.rules[int(span.label_)], doc, span.start_char)
        ]

    @staticmethod
    def _applies_in_section(rule: ContextRule, doc: Doc, start_char: int) -> bool:
        section = section_of(doc, start_char)
        return (rule.sections is None or section in rule.sections) and section not in rule.not_sections

    def __call__(self, doc: Doc) -> Doc:
        spans = list(doc.spans.get(SPANS_KEY, []))  # a SpanGroup makes its Spans anew on every pass
        targets = sorted({sentence_of(doc, span.start) for span in spans if span.label_ in STATUS_LABELS})
        cues = self.cues(doc, targets)
        # a cue reaches only targets of its sentence: each mention weighs its sentence's cues alone,
        # so a long note of many techniques costs the sum of its sentences, not their square
        by_sentence: dict[int, tuple[list[Cue], list[Cue]]] = {}
        for cue in cues:
            own, ends = by_sentence.setdefault(sentence_of(doc, cue.start).start, ([], []))
            (ends if cue.rule.category == TERMINATE else own).append(cue)
        for span in spans:
            section = section_of(doc, span.start_char)
            values = attributes(span)
            values["section"] = section
            if span.label_ not in STATUS_LABELS:
                continue
            cue = self._nearest_cue(span, *by_sentence.get(sentence_of(doc, span.start).start, ([], [])))
            if cue is not None:
                values["status"], values["cue"] = cue.rule.category, cue.text
            elif section in self.section_defaults and span.label_ in self.section_defaults[section][1]:
                values["status"], values["cue"] = self.section_defaults[section][0], f"section: {section}"
            else:
                values["status"] = PERFORMED
        self._retract(spans, cues)
        self._stop_trials(spans)
        self._carry_forward(spans)
        _minutes_to_work_done(spans)
        return doc

    def _carry_forward(self, spans: list[Span]) -> None:
        """Work in a block a line announces as carried forward from an earlier visit ("---
        carried forward from 01/09/2026 ---") was done then, not today."""
        if self.carried_forward is None or not spans:
            return
        doc = spans[0].doc
        text = note_text(doc)
        blocks = []
        for marker in self.carried_forward.finditer(text.lower()):
            line_start = text.rfind("\n", 0, marker.start()) + 1
            line_end = text.find("\n", marker.end())
            if line_end < 0 or any(line_start <= s.start_char < line_end and s.label_ in TECHNIQUES for s in spans):
                continue  # the work is on the marker's own line: ConText's cue decides it
            end = line_end + 1
            while end < len(text):
                following = text.find("\n", end)
                following = len(text) if following < 0 else following
                line = text[end:following]
                new_section = end > line_end + 1 and section_start(doc, end) >= end  # its first line may have a header
                if not line.strip() or self.block_end.search(line.lower()) or new_section:
                    break
                end = following + 1
            blocks.append((line_end, end))
        for span in spans:
            if span.label_ in TECHNIQUES and attributes(span).get("status") == PERFORMED:
                if any(start <= span.start_char < end for start, end in blocks):
                    attributes(span).update(status=HISTORICAL, cue="carried forward")

    def _stop_trials(self, spans: list[Span]) -> None:
        """A technique tried and stopped in the same item (its line, and the lines it wraps onto) was not done:
        "attempted STM to R SCM - infant arching; stopped, not performed", "Manual traction
        trialed - did not tolerate"."""
        if self.trial is None:
            return
        for span in spans:
            if span.label_ not in TECHNIQUES or attributes(span).get("status") != PERFORMED:
                continue
            text = note_text(span.doc)
            line_start = text.rfind("\n", 0, span.start_char) + 1
            line_end = _item_end(text, span.end_char)
            tried = self.trial.search(text[max(line_start, span.start_char - 30) : min(line_end, span.end_char + 40)].lower())
            stopped = self.stopped.search(text[span.end_char : line_end].lower())
            if tried and stopped:
                attributes(span).update(status=NEGATED, cue=f"{tried.group()} ... {stopped.group()}")

    @staticmethod
    def _retract(spans: list[Span], cues: list[Cue]) -> None:
        """A technique the note says was declined, held or not performed was not done this
        visit: its mentions named performed before that statement (carried-forward text, the
        line a late entry corrects) are negated too."""
        retracting = {cue.text for cue in cues if cue.rule.retracts}
        named = {id(span): " ".join(span.text.lower().split()) for span in spans if span.label_ in TECHNIQUES}
        last: dict[str, Span] = {}  # the same words, not only the same technique: "STM" done, "IASTM deferred"
        for span in spans:
            if id(span) in named and attributes(span).get("status") in (PERFORMED, NEGATED):
                last[named[id(span)]] = span
        for words, final in last.items():
            values = attributes(final)
            if values.get("status") != NEGATED or values.get("cue") not in retracting:
                continue
            for span in spans:
                if named.get(id(span)) == words and span.start < final.start and attributes(span).get("status") == PERFORMED:
                    attributes(span).update(status=NEGATED, cue=f"later: {values['cue']}")

    @staticmethod
    def _nearest_cue(span: Span, cues: list[Cue], terminators: list[Cue]) -> Cue | None:
        sent = sentence_of(span.doc, span.start)
        best: tuple[tuple[bool, int], Cue] | None = None
        for cue in cues:
            rule = cue.rule
            if span.label_ not in rule.targets or cue.end > sent.end:
                continue
            if cue.end <= span.start and rule.direction in (FORWARD, BIDIRECTIONAL):
                gap, between = span.start - cue.end, (cue.end, span.start)
            elif cue.start >= span.end and rule.direction in (BACKWARD, BIDIRECTIONAL):
                gap, between = cue.start - span.end, (span.end, cue.start)
            else:
                continue
            if gap > rule.max_scope or any(
                between[0] <= t.start < between[1] and (t.rule.ends is None or rule.category in t.rule.ends)
                for t in terminators
            ):
                continue
            # The nearest cue that changes the status wins; an affirming cue only counts when none does.
            rank = (rule.category == AFFIRMED, gap)
            if best is None or rank < best[0]:
                best = (rank, cue)
        if best is None or best[1].rule.category == PSEUDO:
            return None
        return best[1]


def _minutes_to_work_done(spans: list[Span]) -> None:
    """Minutes a phrase gave to a mention of work not done go to the work of the same kind
    done in that mention's sentence ("[ ] MFR [x] STM ... 11 min"; "STM and MFR 33 min ...
    MFR not performed"). With none there ("Last visit: GH mobs, 15 min") they stay with the
    undone work, and the rules count them for nothing."""
    by_offsets = {(s.start_char, s.end_char, s.label_): s for s in spans}
    for span in spans:
        value = attributes(span).get("value") if span.label_ == "TIME" else None
        anchor = (value or {}).get("of")
        work = by_offsets.get((anchor["start"], anchor["end"], anchor["label"])) if anchor else None
        if work is None or attributes(work).get("status") in (None, PERFORMED):
            continue
        sentence = sentence_of(work.doc, work.start)
        same_kind = (lambda s: s.label_ == work.label_) if work.label_ in TECHNIQUES else (lambda s: s.label_ == work.label_ and s.id_ == work.id_)
        done = [
            s for s in spans
            if same_kind(s) and sentence.start_char <= s.start_char < sentence.end_char and attributes(s).get("status") == PERFORMED
        ]
        if done:
            nearest = min(done, key=lambda s: abs(s.start_char - work.start_char))
            value["of"] = {**anchor, "id": nearest.id_, "start": nearest.start_char, "end": nearest.end_char}


def _item_end(text: str, offset: int) -> int:
    """Where the item holding an offset ends: its line's end, or a later line's when the lines
    after it go on the item (a wrapped line), up to a blank line, a bullet or a "Label:"."""
    end = text.find("\n", offset)
    for _ in range(_ITEM_LINES):
        if end < 0:
            return len(text)
        following = text.find("\n", end + 1)
        line = text[end + 1 : len(text) if following < 0 else following]
        if not line.strip() or _NEW_ITEM.match(line):
            return end
        end = following
    return len(text) if end < 0 else end


def _words(words: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b")


@Language.factory("notes_context")
def make_context(nlp: Language, name: str) -> ContextAnnotator:
    return ContextAnnotator(nlp)
