"""`moodplayer eval` (to be built)."""

from __future__ import annotations

import argparse

from app.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("'eval' is not built yet")
