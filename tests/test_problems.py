"""The problem list: kept once, newest kept, listeners told, safe from many threads."""

from __future__ import annotations

import threading

from app.problems import ProblemList


def test_same_problem_is_kept_once_and_listeners_hear_new_ones() -> None:
    heard = []
    listing = ProblemList(clock=lambda: 5.0)
    stop = listing.subscribe(heard.append)
    assert listing.report("audio file", "/m/a.mp3", "cannot be decoded")
    assert not listing.report("audio file", "/m/a.mp3", "cannot be decoded")
    assert listing.report("playlist entry", "/m/list.m3u: b.mp3", "file not found")
    assert [p.path for p in heard] == ["/m/a.mp3", "/m/list.m3u: b.mp3"]
    stop()
    listing.report("audio file", "/m/c.mp3", "truncated")
    assert len(heard) == 2 and len(listing) == 3
    assert listing.items()[0].time == 5.0


def test_only_the_newest_are_kept() -> None:
    listing = ProblemList(limit=3)
    for i in range(5):
        listing.report("audio file", f"/m/{i}.mp3", "bad")
    assert [p.path for p in listing.items()] == ["/m/2.mp3", "/m/3.mp3", "/m/4.mp3"]
    listing.clear()
    assert listing.items() == ()


def test_reports_from_many_threads_are_all_kept() -> None:
    listing = ProblemList()

    def work(n: int) -> None:
        for i in range(200):
            listing.report("library file", f"/m/{n}/{i}", "unreadable")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(listing) == 800
