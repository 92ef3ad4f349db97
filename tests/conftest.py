"""Shared fixtures: the extraction pipeline is built once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def nlp():
    import notes_nlp

    return notes_nlp.load()
