"""The credentials notes-nlp knows, from one place: the extraction's ``attributes.json``.

Its ``credential_aliases`` say how notes write a credential ("D.C.", "physical
therapist", "LMP") and which one it is (DC, PT, LMT). Those canonical
credentials are what a payer profile may name and what a CDS Hooks care team's
qualification is matched against, so a credential added there is known
everywhere at once. A relative or caregiver who does the work is the one
canonical value that is no credential.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

LAY_PERFORMER = "CAREGIVER"  # the canonical "credential" of a relative or caregiver


@cache
def written_forms() -> dict[str, str]:
    """How a credential is written, upper case → the canonical credential."""
    text = resources.files("notes_nlp.extraction.resources").joinpath("attributes.json").read_text("utf-8")
    return json.loads(text)["credential_aliases"]


@cache
def credentials() -> frozenset[str]:
    """The canonical credentials (DC, PT, DPT, PTA, MD, DO, LMT, OT, ATC, ...)."""
    return frozenset(written_forms().values()) - {LAY_PERFORMER}
