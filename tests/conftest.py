from __future__ import annotations

from pathlib import Path

import pytest
import torch

# ../shared beside the repository root: read-only reference data; tests skip when it is absent.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE = SHARED / "reference"
ANNOTATIONS = SHARED / "annotations"


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent")
    return SHARED
