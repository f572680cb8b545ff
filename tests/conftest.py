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


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory) -> None:
    """Caches (decoded segment layers, simulated training sets) go to a temporary folder, not the user's."""
    os.environ["CCDSTUDIO_CACHE"] = str(tmp_path_factory.mktemp("cache"))
