"""Resolve the candidates into the final mentions and parse their values.

Candidates come from the span ruler, the regex rules and the statement
finder. This component applies the vetoes ("trigger point injection" is not
a technique, "myofascial" inside "myofascial pain syndrome" is a diagnosis),
keeps the longest of competing matches, and parses each mention's value:
minutes of a TIME, code/modifiers/units of a BILLING, the canonical region,
the regions treated or adjusted, a credential and its role, whether a goal
is measurable. Values are plain JSON-ready dicts in ``span._.value``.
"""

from __future__ import annotations

import bisect
import json
import re
from importlib import resources
from typing import Any, Callable, Iterable

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from notes_nlp.extraction.extensions import SPANS_KEY, attributes, take_candidates
from notes_nlp.extraction.senses import SenseRules
from notes_nlp.extraction.statements import StatementRules
from notes_nlp.extraction.numbers import first_number
from notes_nlp.extraction.sections import section_of, section_start
from notes_nlp.extraction.text_index import Sentence, note_text, sentence_of
from notes_nlp.credentials import LAY_PERFORMER
from notes_nlp.io.billed import read_billing

TECHNIQUE_LABELS = ("MASSAGE_TECHNIQUE", "MANUAL_TECHNIQUE", "CMT")
# What a minutes phrase can belong to, and what vetoes can remove.
ANCHOR_LABELS = (*TECHNIQUE_LABELS, "SERVICE")
# Work that is neither family ("compression bandaging 25 min", "dry needling 12 min") keeps
# its own minutes, though it is no mention.
OTHER_WORK = "NOT_TECHNIQUE"
TIME_ANCHOR_LABELS = (*ANCHOR_LABELS, "BILLING", OTHER_WORK)
# Labels that compete for the same characters: one mention per place.
COMPETING = {label: "technique" for label in TECHNIQUE_LABELS} | {
    "INTENT_RELAXATION": "intent",
    "INTENT_FUNCTIONAL": "intent",
    "TIME": "number",
    "MEASURE": "number",
}
INTENT_LABELS = ("INTENT_RELAXATION", "INTENT_FUNCTIONAL")
ABSENT = "absent"  # named as away: did none of the work, whatever the sentence says
AT_THE_END = "at the end"  # a credential on a note's last lines, signer unless it sits beside work
# A veto label removes the mentions of these labels that it overlaps ("trigger point injection",
# "contract-relax").
VETOES = {"NOT_TECHNIQUE": ANCHOR_LABELS, "NOT_PURPOSE": INTENT_LABELS}
_PURPOSE_LABELS = ("DIAGNOSIS", *ANCHOR_LABELS)  # dropped inside a statement of intent

# "10:05-10:30", "0930-0945" (a clinic's hours without the colon), "in 1:10 out 1:42", "Time in 0930 / out 1012"
_CLOCK = re.compile(
    r"(\d{1,2}):?(\d{2})\s*(am|pm)?\s*(?:-|–|to|until|\W{0,5}(?:time\s+)?out\b\W{0,3})\s*(\d{1,2}):?(\d{2})\s*(am|pm)?", re.I
)
_UNCHECKED_BEFORE = re.compile(r"\[\s?\][ \t]*$")
_UNITS_OVER = re.compile(r"\bunits?\s*/\s*$")  # units over minutes: the count and time of all the lines before
_INTRODUCES = re.compile(r"(?::|\s(?:--|-|—|–))$")  # a sentence that ends so introduces the next
_CHECKED_BEFORE = re.compile(r"\[\s?[xX✓✔]\s?\][ \t]*$|[☑☒✓✔][ \t]*$")
_CHECKBOX = re.compile(r"\[\s?[xX✓✔]?\s?\]")
_ALONE_WORDS = 2
_BESIDE_WORDS = 8  # how near to a credential the work it did is written
_SEPARATORS = frozenset({"--", "—", "–", "|"})
_ITEM_LABEL = re.compile(r"[ \t>*•\-]*[A-Za-z][\w /&'().+-]{0,30}:")


def _load_settings() -> dict[str, Any]:
    text = resources.files("notes_nlp.extraction.resources").joinpath("attributes.json").read_text("utf-8")
    return json.loads(text)


def clock_minutes(text: str) -> int | None:
    """Minutes between two clock times ("10:05-10:30" → 25, "in 1:10 out 1:42" → 32), None if
    not a range."""
    match = _CLOCK.search(text)
    if not match:
        return None
    h1, m1, ampm1, h2, m2, ampm2 = match.groups()
    start, end = int(h1) * 60 + int(m1), int(h2) * 60 + int(m2)
    if end < start:  # "11:50-12:10", or a range across noon written without am/pm
        end += 12 * 60
    return end - start


def parse_minutes(text: str) -> int | None:
    minutes = clock_minutes(text)
    return minutes if minutes is not None else first_number(text)


def resolve(candidates: Iterable[Span]) -> list[Span]:
    """Vetoes first, then the longest match among competing labels, then the longest per label.

    Each span's offsets and label are read once: spaCy looks a label up in the string
    store on every read, and this runs on every candidate of every note."""
    entries = [(span.start_char, span.end_char, span.label_, span) for span in candidates]
    vetoes = [(start, end, VETOES[label]) for start, end, label, _ in entries if label in VETOES]
    diagnoses = [(start, end) for start, end, label, _ in entries if label == "DIAGNOSIS"]
    intents = [(start, end) for start, end, label, _ in entries if label in INTENT_LABELS]
    groups: dict[str, list[Span]] = {}
    for start, end, label, span in entries:
        # a veto covers a mention to its end; a technique that goes on past it is not the vetoed
        # phrase ("+ TRIGGER PT" is a finding, "+ TRIGGER PT RELEASE" the work)
        if label in VETOES or any(v_start < end <= v_end and label in vetoed for v_start, v_end, vetoed in vetoes):
            continue
        if label in _PURPOSE_LABELS and any(i_start <= start and end <= i_end for i_start, i_end in intents):
            continue  # "to decrease muscle spasm", "prep for mobilization" state a purpose
        if label in ANCHOR_LABELS and any(d_start <= start and end <= d_end and d_end - d_start > end - start for d_start, d_end in diagnoses):
            continue
        groups.setdefault(COMPETING.get(label, label), []).append(span)
    kept = {id(span) for group in groups.values() for span in (filter_spans(group) if len(group) > 1 else group)}
    return [entry[-1] for entry in sorted((e for e in entries if id(e[-1]) in kept), key=_position)]


def _position(entry: tuple[int, int, str, Span]) -> tuple[int, int, str]:
    """Mentions in reading order: by start, the longer first, then by label."""
    start, end, label, _ = entry
    return start, -end, label


class AttributeParser:
    """Write the resolved mentions to ``doc.spans[SPANS_KEY]`` with their values."""

    def __init__(self) -> None:
        settings = _load_settings()
        self.measure_words = frozenset(settings["measure_words"])
        self.other_work = frozenset(settings["other_work"])
        self.total_words = frozenset(settings["total_words"])
        self.purpose_words = frozenset(settings["purpose_words"])
        self.correction_cues = _cue_pattern(settings["correction_cues"])
        self.error_words = _cue_pattern(settings["error_words"])
        self.absent_words = _cue_pattern(settings["absent_words"])
        self.negating_words = _cue_pattern(settings["negating_words"])
        self.reference_cues = _cue_pattern(settings["reference_cues"])
        self.supervising_verbs = frozenset(settings["supervising_verbs"])
        self.not_performer_cues = _cue_pattern(settings["not_performer_cues"])
        self.credential_aliases: dict[str, str] = settings["credential_aliases"]
        self.performer_cues = _cue_pattern(settings["performer_cues"])
        self.supervisor_cues = _cue_pattern(settings["supervisor_cues"])
        self.signer_cues = _cue_pattern(settings["signer_cues"])
        self.goal_rules = StatementRules.load()
        self.senses = SenseRules()
        self.region_line = _label_line(settings["region_labels"])
        self.adjusted_line = _label_line(settings["adjusted_region_labels"])

    def __call__(self, doc: Doc) -> Doc:
        text = note_text(doc)
        found = take_candidates(doc)
        other_work = [span for span in found if span.label_ == OTHER_WORK and span.id_ in self.other_work]
        spans = resolve(found)
        anchor_ends = sorted({span.end for span in spans if span.label_ in ANCHOR_LABELS})
        spans = resolve(self._relabel(span, anchor_ends) for span in spans)  # again, for the order: a TIME relabelled MEASURE sorts by its new label
        spans = self.senses.in_sense(spans, doc)
        by_sentence: dict[int, list[Span]] = {}
        for span in spans:
            by_sentence.setdefault(sentence_of(doc, span.start).start, []).append(span)
        checked = [s for s in spans if not (s.label_ == "BODY_REGION" and _UNCHECKED_BEFORE.search(text, max(0, s.start_char - 6), s.start_char))]
        kept = {(s.start_char, s.end_char, s.label_) for s in checked}
        regions = {
            key: value
            for group in by_sentence.values()
            for key, value in owned_regions([s for s in group if (s.start_char, s.end_char, s.label_) in kept], sentence_of(doc, group[0].start).end_char).items()
        }
        treated = _labelled_regions(self.region_line, doc, checked)
        adjusted = _labelled_regions(self.adjusted_line, doc, checked)
        for span in spans:
            key = (span.start_char, span.end_char)
            if key in regions and not regions[key]:
                regions[key] = adjusted if span.label_ == "CMT" else treated
        sentence_starts = sorted(by_sentence)
        time_anchors = sorted(
            [s for s in spans if s.label_ in TIME_ANCHOR_LABELS and not self._referenced(s)] + other_work, key=lambda s: s.start_char
        )
        anchor_starts = [a.start_char for a in time_anchors]
        work = [s for s in spans if s.label_ in ANCHOR_LABELS]
        for span in spans:
            sentence = by_sentence[sentence_of(doc, span.start).start]
            if span.label_ == "TIME":
                bounds = sentence_of(doc, span.start)
                sentence = time_anchors[bisect.bisect_left(anchor_starts, bounds.start_char) : bisect.bisect_left(anchor_starts, bounds.end_char)]
                if not sentence and (_alone(span, bounds) or _in_field_row(span) or _goes_on(span, bounds)):
                    earlier = _earlier_in_item(span, time_anchors)
                    # timed work named before: an adjustment or a code named in passing ("(Dr. K adj 98940
                    # same visit). 30'.") times less than the massage named
                    sentence = [a for a in earlier if a.label_ not in ("BILLING", "CMT")] or earlier
            if span.label_ in INTENT_LABELS:
                attributes(span)["value"] = {"of": [_anchor_record(a) for a in _purpose_of(span, sentence, work)], "stated": self._stated(span)}
                continue
            value = self._value(span, sentence, regions)
            if span.label_ == "CREDENTIAL" and value["role"] in ("mentioned", AT_THE_END):
                implicit = self._implicit_role(span, sentence)
                # a credential on the last lines with no work beside it signs the note
                value["role"] = "signer" if value["role"] == AT_THE_END and implicit == "mentioned" else implicit
            attributes(span)["value"] = value
        for sentence in by_sentence.values():
            credentials = [(s, attributes(s)["value"]) for s in sentence if s.label_ == "CREDENTIAL"]
            named_outright = any(v["role"] == "performer" for _, v in credentials)
            for span, value in credentials:
                if value["role"] == "performer by the work" and named_outright:
                    value["role"] = "mentioned"
                elif value["role"] in ("performer", "performer by the work"):
                    work = _performed_work(span, by_sentence, sentence_starts, self._referenced)
                    if value["role"] == "performer by the work":
                        # named beside work with no cue: the work next to it ("PTA carrying out the exercise program")
                        work = _nearest_work(span, work)
                    if not work and value["credential"] == LAY_PERFORMER:
                        value["role"] = "mentioned"  # "Pt's son present, did not interpret": no work of his
                        continue
                    value["role"] = "performer"
                    value["of"] = _work_kinds(work)
                    value["work"] = [[w.start_char, w.end_char] for w in work]
        doc.spans[SPANS_KEY] = spans
        return doc

    def _relabel(self, span: Span, anchor_ends: list[int]) -> Span:
        """"stand 45 min" is a tolerance measure, not minutes of service; "back to work:
        effleurage x 7 min" is service time, because a technique stands between, and so is
        anything under a treatment header ("Ther ex: rows, wall walks 11 min")."""
        if span.label_ != "TIME" or clock_minutes(span.text) is not None or section_of(span.doc, span.start_char) == "Treatment":
            return span
        start = max(sentence_of(span.doc, span.start).start, span.start - 4)
        last = bisect.bisect_right(anchor_ends, span.start) - 1  # the nearest technique's end before it
        if last >= 0 and anchor_ends[last] > start:
            start = anchor_ends[last]
        if any(token.lower_ in self.measure_words for token in span.doc[start : span.start]):
            return Span(span.doc, span.start, span.end, label="MEASURE", span_id="tolerance")
        return span

    def _value(self, span: Span, sentence: list[Span], regions: dict[tuple[int, int], list[str]]) -> dict[str, Any] | None:
        label = span.label_
        if label == "TIME":
            return self._time_value(span, sentence)
        if label == "BILLING":
            return read_billing(span.text)
        if label == "BODY_REGION":
            return {"region": span.id_}
        if label in TECHNIQUE_LABELS:
            return {"technique": span.id_, "regions": regions.get((span.start_char, span.end_char), [])}
        if label == "SERVICE":
            return {"code": span.id_, "regions": regions.get((span.start_char, span.end_char), [])}
        if label == "CREDENTIAL":
            return {"credential": self._credential(span.text), "role": self._role(span)}
        if label == "GOAL":
            # The label before a goal on its line ("STG (3 wks): 1. ... 2. ...") or the lead-in of
            # its list ("STG (3 wks):" on the line above) carries its time frame.
            text = note_text(span.doc)
            line_start = text.rfind("\n", 0, span.start_char) + 1
            labelled = text[min(line_start, sentence_of(span.doc, span.start).start_char) : span.end_char]
            lead = self.goal_rules.lead_in("GOAL", text, span.start_char) or self.goal_rules.heading("GOAL", span.doc, span.start_char)
            value: dict[str, Any] = {"measurable": self.goal_rules.is_measurable(labelled, lead)}
            if lead:
                value["lead_in"] = lead
            return value
        return None

    def _time_value(self, span: Span, sentence: list[Span]) -> dict[str, Any]:
        text = note_text(span.doc)
        bounds = sentence_of(span.doc, span.start)
        window = span.doc[max(bounds.start, span.start - 4) : span.start]
        anchor = _anchor_of(span, sentence)
        before = text[max(bounds.start_char, span.start_char - 12) : span.start_char].lower()
        total = (
            any(token.lower_ in self.total_words for token in window)
            or span.kb_id_ == "time in and out"
            or bool(_UNITS_OVER.search(before))  # "97110 x1, 97140 x1 (2 units / 30 min)"
        )
        if total and len({_work_code(a) for a in sentence if a.label_ in ANCHOR_LABELS}) == 1:
            total = False  # "manual traction ... and MET, total 20 min hands-on": the total of that work
        after = text[span.end_char : span.end_char + 24].lower()
        line_start = text.rfind("\n", 0, span.start_char) + 1
        line_end = text.find("\n", span.end_char)
        line = text[line_start : len(text) if line_end < 0 else line_end].lower()
        return {
            "minutes": parse_minutes(span.text),
            "total": total,
            "of": anchor,
            # a charge grid or a billed code restates the minutes the narrative gave its work
            "summary": span.id_ == "grid minutes" or (anchor or {}).get("label") == "BILLING" or (anchor is not None and not total and any(t.lower_ in self.total_words for t in window)),
            # an addendum's figure replaces the earlier one; the figure it says was wrong counts for nothing
            "correction": bool(self.correction_cues.search(line)),
            "wrong": bool(re.search(rf"(?:{self.negating_words.pattern})\W*$", before)) or bool(self.error_words.match(after.lstrip())),
        }

    def _stated(self, intent: Span) -> bool:
        """Whether an intent is stated as a purpose ("for stress relief", "Purpose: relaxation")
        rather than named in passing (a clinic's name, "cues for relaxation")."""
        words = [t.lower_ for t in intent.doc[max(sentence_of(intent.doc, intent.start).start, intent.start - 3) : intent.start] if not t.is_space]
        if any(word.strip(":") in self.purpose_words for word in words):
            return True
        # a ticked box under a purpose label ("purpose of session:" then "[x] relaxation")
        text = note_text(intent.doc)
        line_start = text.rfind("\n", 0, intent.start_char) + 1
        above = text.rfind("\n", 0, max(line_start - 1, 0)) + 1
        labels = text[above : intent.start_char].lower()
        return bool(_CHECKED_BEFORE.search(text, line_start, intent.start_char)) and any(
            word in labels for word in ("purpose", "goal", "reason", "intent", "focus", "aim")
        )

    def _referenced(self, work: Span) -> bool:
        """Work named as what other work prepares for ("effleurage 9 min prior to MFR")."""
        text = note_text(work.doc)
        return bool(re.search(rf"(?:{self.reference_cues.pattern})\W*$", text[max(0, work.start_char - 24) : work.start_char].lower()))

    def _implicit_role(self, span: Span, sentence: list[Span]) -> str:
        """The role of a credential no cue names: it guides another's hands when a supervising
        verb follows it ("PT coached husband"), it did the work of its sentence when that
        sentence documents work and names it for no other reason ("IASTM 12 min - D. Ko, ATC")."""
        text = note_text(span.doc)
        bounds = sentence_of(span.doc, span.start)
        after = [w.strip(",.;:()") for w in text[span.end_char : bounds.end_char].lower().split()[:3]]
        if any(word in self.supervising_verbs for word in after):
            return "supervisor"
        if not any(s.label_ in ANCHOR_LABELS for s in sentence):
            return "mentioned"
        if self._credential(span.text) == LAY_PERFORMER:
            # a relative performs only where the note says so ("coached husband through the MLD")
            before = [w.strip(",.;:()") for w in text[bounds.start_char : span.start_char].lower().split()[-2:]]
            guided = any(word in self.supervising_verbs for word in before)
            return "performer by the work" if guided or any(w.startswith("perform") for w in after) else "mentioned"
        if self.not_performer_cues.search(text[bounds.start_char : span.start_char].lower()):
            return "mentioned"
        return "performer by the work"

    def _credential(self, text: str) -> str:
        key = " ".join(text.upper().split())
        return self.credential_aliases.get(key, key.replace(".", ""))

    def _role(self, span: Span) -> str:
        """performer, supervisor, signer or mentioned: who did the work decides coverage."""
        sent = sentence_of(span.doc, span.start)
        text = note_text(span.doc)
        if self.absent_words.match(text[span.end_char : span.end_char + 16].lower().lstrip()):
            return ABSENT  # "LMT out today - Dr. Brandt personally performed ..."
        line_start = text.rfind("\n", 0, span.start_char) + 1
        boxes = _CHECKBOX.findall(text, line_start, span.start_char)
        if boxes and boxes[-1].strip("[]").strip() == "":
            return "mentioned"  # "Performed by: [ ] R. Okafor, DC [x] J. Pruitt, LMT"
        before = text[sent.start_char : span.start_char].lower()
        after = text[span.end_char : sent.end_char].lower()
        last_performer = max((m.end() for m in self.performer_cues.finditer(before)), default=-1)
        last_supervisor = max((m.end() for m in self.supervisor_cues.finditer(before)), default=-1)
        if last_supervisor > last_performer:
            return "supervisor"
        # a cue ending in "by" names the credential after it ("... per PT POC, performed by PTA")
        if last_performer >= 0 or any(not m.group().endswith(" by") for m in self.performer_cues.finditer(after)):
            return "performer"
        if self.signer_cues.search(before) or self.signer_cues.search(after):
            return "signer"
        if text.count("\n", span.end_char) <= 1:
            return AT_THE_END
        return "mentioned"


def _alone(time: Span, sentence: Sentence) -> bool:
    """Whether a minutes phrase stands alone in its sentence ("25 min.", "-- 14 min"), as it
    does after the work it times; one inside prose ("tolerates 30 min of driving, up from 15
    min") is about something else."""
    words = [t for t in time.doc[sentence.start : sentence.end] if t.is_alpha and not (time.start <= t.i < time.end)]
    return len(words) <= _ALONE_WORDS


def _goes_on(time: Span, sentence: Sentence) -> bool:
    """Whether a minutes phrase's sentence goes on from the one before after a dash on the same
    line ("manual lymphatic drainage -- abdominal & inguinal clearing, then R LE, 30 min")."""
    if sentence.start == 0:
        return False
    previous = time.doc[sentence.start - 1]
    return previous.text in _SEPARATORS and "\n" not in note_text(time.doc)[previous.idx : sentence.start_char]


def _in_field_row(time: Span) -> bool:
    """Whether a minutes phrase stands in an indented field row of a flowsheet block
    ("           Region: L lumbar paraspinals       Time: 11 min")."""
    text = note_text(time.doc)
    start = text.rfind("\n", 0, time.start_char) + 1
    return text[start] in " \t" and bool(_ITEM_LABEL.match(text, start, time.start_char))


def _earlier_in_item(time: Span, anchors: list[Span]) -> list[Span]:
    """The anchors a minutes phrase alone in its sentence may belong to: those earlier in its
    item ("MLD L UE: terminus, axillary nodes, then the arm. 25 min."). An item is its line
    when the line starts with a label of its own ("Jaw ex: ... 10 min"); an indented field of a
    flowsheet block, the block from its less indented head ("Manual Therapy: Y" ... "  Minutes:
    10"); else its paragraph, never across a section header."""
    text = note_text(time.doc)
    start = text.rfind("\n", 0, time.start_char) + 1
    if _ITEM_LABEL.match(text, start, time.start_char) and text[start] in " \t":
        start = _field_block_start(text, start)
    elif not _ITEM_LABEL.match(text, start, time.start_char):
        paragraph = text.rfind("\n\n", 0, start)
        start = max(paragraph + 2 if paragraph >= 0 else 0, section_start(time.doc, time.start_char))
    return [a for a in anchors if start <= a.start_char and a.end_char <= time.start_char]


def _purpose_of(intent: Span, sentence: list[Span], work: list[Span]) -> list[Span]:
    """The work a purpose is stated for: the techniques and services of its sentence ("STM
    R UT to decrease spasm"), else those of the nearest sentence before it in its item
    ("Effleurage trunk -- 10 min -- to help her relax"); none for a purpose stated on its own
    ("Purpose: stress reduction"), which then speaks for the whole note."""
    own = [s for s in sentence if s.label_ in ANCHOR_LABELS]
    if own:
        return own
    earlier = _earlier_in_item(intent, work)
    if not earlier:
        return []
    last = sentence_of(intent.doc, earlier[-1].start).start
    return [s for s in earlier if sentence_of(intent.doc, s.start).start == last]


def _field_block_start(text: str, line_start: int) -> int:
    """Where the block of an indented field starts: its nearest line above that is less
    indented (the block's head), over lines of the block only."""
    indent = len(text[line_start:]) - len(text[line_start:].lstrip(" \t"))
    start = line_start
    while start > 0:
        previous = text.rfind("\n", 0, start - 1) + 1
        line = text[previous : start - 1]
        if not line.strip():
            return start
        start = previous
        if len(line) - len(line.lstrip(" \t")) < indent:
            return start
    return start


def _work_code(anchor: Span) -> str:
    """The family or service code a mention of work is billed under."""
    return anchor.id_ if anchor.label_ == "SERVICE" else anchor.label_


def _anchor_record(anchor: Span) -> dict[str, Any]:
    ident = read_billing(anchor.text)["code"] if anchor.label_ == "BILLING" else anchor.id_
    return {"label": anchor.label_, "id": ident, "start": anchor.start_char, "end": anchor.end_char}


def _anchor_of(time: Span, sentence: list[Span]) -> dict[str, Any] | None:
    """The technique, service or billed code a minutes phrase belongs to: the nearest one
    before it in its sentence ("MFR x 12 min", "97140: 12 min"), else the nearest after
    it ("12 min of MFR")."""
    anchors = [s for s in sentence if s.label_ in TIME_ANCHOR_LABELS]
    before = [a for a in anchors if a.end_char <= time.start_char]
    after = [a for a in anchors if a.start_char >= time.end_char]
    # A technique wins over a service it overlaps ("Swedish massage" over "massage").
    if before:
        anchor = max(before, key=lambda a: (a.end_char, a.label_ != "SERVICE"))
    elif after:
        anchor = min(after, key=lambda a: (a.start_char, a.label_ == "SERVICE"))
    else:
        return None
    return _anchor_record(anchor)


def owned_regions(sentence: list[Span], sentence_end: int) -> dict[tuple[int, int], list[str]]:
    """The regions each technique, CMT or service mention of one sentence treated.

    A mention owns the regions in it and after it up to the next technique, CMT or
    service ("MFR to L UT, joint mobs R shoulder"). One with none of its own shares
    those of the technique right after it ("STM and MFR to R QL"), else takes
    the regions just before it ("R QL: STM").
    """
    anchors = [s for s in sentence if s.label_ in ANCHOR_LABELS]
    region_spans = [s for s in sentence if s.label_ == "BODY_REGION"]
    owned: dict[tuple[int, int], list[str]] = {}
    following: list[str] = []
    for index in range(len(anchors) - 1, -1, -1):
        anchor = anchors[index]
        # a region inside the mention is its own ("Div C1", "lumbar adjustment")
        start = anchor.start_char
        end = anchors[index + 1].start_char if index + 1 < len(anchors) else sentence_end
        own = sorted({r.id_ for r in region_spans if start <= r.start_char < end})
        if not own and index + 1 < len(anchors) and anchors[index + 1].label_ == anchor.label_:
            own = following
        if not own:
            previous_end = anchors[index - 1].end_char if index > 0 else -1
            own = sorted({r.id_ for r in region_spans if previous_end <= r.start_char < anchor.start_char})
        owned[(anchor.start_char, anchor.end_char)] = own
        following = own
    return owned


def _performed_work(
    credential: Span, by_sentence: dict[int, list[Span]], starts: list[int], referenced: Callable[[Span], bool]
) -> list[Span]:
    """The work a named performer did: the techniques and services of its sentence, else of
    the sentence just before ("STM R ITB; performed by K. Ortiz, LMT"), or just after when
    its own ends with a colon or a dash ("Soft tissue (J. Pruitt, LMT):", "muscle work by K.
    Alvarez, LMT, 20 min -- petrissage ..."). Work named as what this work prepares for
    ("Before the adjustment: ...") is not its. None means the whole note."""
    sent = sentence_of(credential.doc, credential.start)
    position = starts.index(sent.start)
    introduces = _INTRODUCES.search(note_text(credential.doc)[sent.start_char : sent.end_char].rstrip()) is not None
    for index in (position, position + 1 if introduces else position - 1):
        if not 0 <= index < len(starts):
            break
        work = [s for s in by_sentence[starts[index]] if s.label_ in ANCHOR_LABELS and not referenced(s)]
        if work:
            return work
    return []


def _nearest_work(credential: Span, work: list[Span]) -> list[Span]:
    """The work within a few words of a credential, the nearer side first; all of it when none is."""
    after = [w for w in work if 0 <= w.start - credential.end <= _BESIDE_WORDS]
    before = [w for w in work if 0 <= credential.start - w.end <= _BESIDE_WORDS]
    return after or before or work


def _work_kinds(work: list[Span]) -> list[str]:
    return sorted({s.label_ if s.label_ != "SERVICE" else f"SERVICE:{s.id_}" for s in work})


def _label_line(labels: list[str]) -> re.Pattern[str]:
    words = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    return re.compile(rf"^[ \t>*•\-]*(?:{words})[ \t]*:", re.IGNORECASE | re.MULTILINE)


def _labelled_regions(label_line: re.Pattern[str], doc: Doc, spans: list[Span]) -> list[str]:
    """Regions on a template line such as "Region(s): R SIJ", for mentions that name none."""
    found: set[str] = set()
    text = note_text(doc)
    for match in label_line.finditer(text):
        line_end = text.find("\n", match.end())
        line_end = line_end if line_end >= 0 else len(text)
        found |= {s.id_ for s in spans if s.label_ == "BODY_REGION" and match.end() <= s.start_char < line_end}
    return sorted(found)


def _cue_pattern(cues: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?<!\w){re.escape(c)}(?!\w)" for c in sorted(cues, key=len, reverse=True)))


@Language.factory("notes_attributes")
def make_attributes(nlp: Language, name: str) -> AttributeParser:
    return AttributeParser()
