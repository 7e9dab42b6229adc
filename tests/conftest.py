"""Shared test fixtures.

Real data lives in ``../shared/data/real`` beside the project checkout (developers and
CI have it). A test that needs it uses the ``real_data`` fixture: it skips with a
clear reason where ``../shared`` is absent, but fails on CI (``CI=true``), where the
data must be present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"
SHARED_REFERENCE = PROJECT_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Path of ``../shared/data/real`` (skip where absent, fail on CI)."""
    if not SHARED_REAL.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI run without the real data folder {SHARED_REAL}")
        pytest.skip(f"real data folder {SHARED_REAL} is absent (only developers and CI have it)")
    return SHARED_REAL


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """Path of ``../shared/reference`` (skip where absent, fail on CI)."""
    if not SHARED_REFERENCE.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI run without the reference folder {SHARED_REFERENCE}")
        pytest.skip(f"reference folder {SHARED_REFERENCE} is absent")
    return SHARED_REFERENCE
