"""Fixtures of the codec tests: one realistic message, a washing machine's flexible-start offer."""

from __future__ import annotations

import pytest
from codec_samples import washer_envelope

from flexcem.model import Envelope


@pytest.fixture
def offer_envelope() -> Envelope:
    """A typical FlexibleStartOffer envelope."""
    return washer_envelope()
