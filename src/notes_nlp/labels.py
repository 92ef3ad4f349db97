"""The vocabulary of the evidence (docs/rubric.md, The evidence): labels and the status of a mention.

Kept free of spaCy so that corpus tools and the rules can name labels without
loading the pipeline.
"""

from __future__ import annotations

LABELS = (
    "MASSAGE_TECHNIQUE", "MANUAL_TECHNIQUE", "INTENT_RELAXATION", "INTENT_FUNCTIONAL", "GOAL", "MEASURE",
    "BODY_REGION", "PROGRESS", "DIAGNOSIS", "BILLING", "TIME", "CMT", "CREDENTIAL",
)

PERFORMED = "performed"
NEGATED = "negated"
PLANNED = "planned"
HISTORICAL = "historical"
STATUSES = (PERFORMED, NEGATED, PLANNED, HISTORICAL)

# Labels whose mentions carry a status.
STATUS_LABELS = frozenset(
    {"MASSAGE_TECHNIQUE", "MANUAL_TECHNIQUE", "CMT", "INTENT_RELAXATION", "INTENT_FUNCTIONAL", "GOAL"}
)
