"""The Problems view lists what was skipped, including problems reported from other threads."""

from __future__ import annotations

import threading

from app.problems import ProblemList
from app.ui.problems_view import ProblemFeed, ProblemsDialog


def test_lists_existing_and_new_problems_from_any_thread(qtbot) -> None:
    listing = ProblemList()
    listing.report("playlist entry", "/m/mix.m3u: gone.mp3", "file not found")
    feed = ProblemFeed(listing)
    dialog = ProblemsDialog(feed)
    qtbot.addWidget(dialog)
    assert dialog.tree.topLevelItemCount() == 1
    assert "1 file could not" in dialog.summary.text()
    worker = threading.Thread(
        target=listing.report, args=("audio file", "/m/broken.flac", "cannot be decoded")
    )
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 2, timeout=2000)
    assert "/m/broken.flac\tcannot be decoded" in dialog.text()
    dialog.clear()
    assert len(listing) == 0 and dialog.summary.text() == "Nothing was skipped."
    feed.close()
