"""Fixtures of the reliability suite."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def child_home(tmp_path: Path) -> Path:
    """A private home folder for one run of the app in a child process."""
    return tmp_path / "home"
