"""Test-wide settings: Qt runs offscreen, torch uses few threads, randomness is seeded per test."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator, so every test is repeatable."""
    return np.random.default_rng(1234)
