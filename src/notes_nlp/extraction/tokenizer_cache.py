"""Fill spaCy's tokenizer cache one chunk at a time.

spaCy's tokenizer caches how it split each whitespace-delimited chunk, but in
spaCy 3.8 (``Tokenizer._tokenize_affixes``) it caches nothing more of a text
after the first chunk that is or holds a special case ("\\n" is one, as are
"Dr." and "don't"). Nearly every note has a line break in its first line, so
most of its chunks were split again by the prefix, suffix and infix regexes
on every call: a millisecond per note. Tokenizing a chunk on its own, where
no special case came before it, lets spaCy cache it; after that, any note
with that chunk gets its split from the cache.

The Doc is still the one ``nlp.make_doc`` makes without this: spaCy caches
only a chunk's first split, which never depends on the rest of the text, and
it already looks chunks up in that cache on every call. The pass over the
whole doc for special cases that span tokens, the one place where
neighbouring chunks matter ("wks): ))" keeps ")" and ":" apart, "wks):"
alone makes them one "):"), still runs on every call.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from spacy.language import Language

_warmed: WeakKeyDictionary[Language, set[str]] = WeakKeyDictionary()


def warm(nlp: Language, text: str) -> None:
    """Have spaCy cache the chunks of the text that were not given to it alone before.

    Not inside a memory zone, where spaCy caches nothing (the zone's strings are freed
    after it), nor beyond the size of spaCy's cache, which then stops growing: the chunks
    remembered here are as many at most, so memory stays flat over any number of notes.
    """
    limit = getattr(nlp.tokenizer, "max_cache_size", 0)  # 0: not spaCy's tokenizer
    warmed = _warmed.setdefault(nlp, set())
    if nlp.vocab.in_memory_zone or len(warmed) >= limit:
        return
    chunks = text.split()
    if not warmed.issuperset(chunks):
        for chunk in sorted(set(chunks).difference(warmed))[: limit - len(warmed)]:
            nlp.tokenizer(chunk)
            warmed.add(chunk)
