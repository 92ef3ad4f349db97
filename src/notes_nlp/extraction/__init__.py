"""Extraction: the spaCy components that find the evidence in a note.

Data flows sentences → sections → span_ruler (vocabulary) → notes_regex
(numbers, codes) → notes_statements (goals, progress) → notes_attributes
(resolve overlaps, parse values) → notes_context (status of each mention).
The result is ``doc.spans["notes"]``; ``entities(doc)`` turns it into records.
"""
