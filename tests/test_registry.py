"""The one registry shape every backend kind uses."""

from __future__ import annotations

import pytest

from app.errors import UserError
from app.registry import Registry


def test_create_builds_a_backend_with_options() -> None:
    reg: Registry[tuple[str, int]] = Registry("thing")
    reg.register("a", lambda size=1: ("a", size), label="Thing A")
    assert reg.create("a", size=3) == ("a", 3)
    assert reg.get("a").label == "Thing A"


def test_unavailable_backend_says_why_and_is_not_built() -> None:
    built: list[str] = []
    reg: Registry[str] = Registry("detector")
    reg.register("ok", lambda: "ok")
    reg.register("missing", lambda: built.append("x") or "x", unavailable=lambda: "install it")
    assert reg.available() == ("ok",)
    assert reg.unavailable_reason("missing") == "install it"
    with pytest.raises(UserError, match="install it"):
        reg.create("missing")
    assert built == []


def test_unknown_name_lists_the_known_ones_and_hidden_are_not_offered() -> None:
    reg: Registry[str] = Registry("model")
    reg.register("real", lambda: "r")
    reg.register("fake", lambda: "f", hidden=True)
    assert reg.names() == ("real",)
    assert reg.names(include_hidden=True) == ("real", "fake")
    assert "fake" in reg
    with pytest.raises(UserError, match=r"no model called 'nope' \(known: real\)"):
        reg.create("nope")
    with pytest.raises(ValueError, match="twice"):
        reg.register("real", lambda: "again")
