"""Words broken across a line by a hyphen, as faxed and scanned pages print them.

"myofas-\\ncial release" is "myofascial release" to a reader, but to the
tokenizer it is "myofas", "-", a line break and "cial". For each such break
this component joins the two halves in a copy of the two lines, runs the
vocabulary's matchers (the span ruler and the token patterns) on that copy,
and adds every match that spans the break to the candidates, with offsets in
the original text. Notes without a hyphen at a line's end cost one regex scan.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc

from notes_nlp.extraction.extensions import candidates
from notes_nlp.extraction.text_index import note_text

_BREAK = re.compile(r"(?<=[A-Za-z]{2})-[ \t]*\n[ \t]*(?=[a-z]{2})")


class HyphenBreaks:
    """Add the vocabulary's matches over words broken by a hyphen at a line's end."""

    def __init__(self, nlp: Language, matchers: tuple[str, ...]) -> None:
        self.nlp = nlp
        self.matchers = matchers

    def __call__(self, doc: Doc) -> Doc:
        text = note_text(doc)
        found = []
        for brk in _BREAK.finditer(text):
            start = text.rfind("\n", 0, brk.start()) + 1
            end = text.find("\n", brk.end())
            end = len(text) if end < 0 else end
            joined = text[start : brk.start()] + text[brk.end() : end]
            cut, removed = brk.start() - start, brk.end() - brk.start()
            for begin, finish, label, ident in self._matches(joined):
                if begin < cut < finish:  # only what the break hid
                    span = doc.char_span(start + begin, start + finish + removed, label=label, span_id=ident, alignment_mode="expand")
                    if span is not None:
                        found.append(span)
        if found:
            spans = candidates(doc)
            spans[:] = sorted(set(found).union(spans))
        return doc

    def _matches(self, text: str) -> list[tuple[int, int, str, str]]:
        piece = self.nlp.make_doc(text)
        for name in self.matchers:
            piece = self.nlp.get_pipe(name)(piece)
        return [(s.start_char, s.end_char, s.label_, s.id_) for s in candidates(piece)]


@Language.factory("notes_hyphens", default_config={"matchers": ["notes_vocabulary", "notes_token_patterns"]})
def make_hyphens(nlp: Language, name: str, matchers: list[str]) -> HyphenBreaks:
    return HyphenBreaks(nlp, tuple(matchers))
