"""Settings files of any shape never crash the app: bad values fall back to defaults and are named,
a file that is not TOML is kept as a backup. 300 generated cases each in `make test`, 10,000 in
`make soak` (MOODPLAYER_FUZZ_EXAMPLES)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import settings as S

FUZZ_EXAMPLES = int(os.environ.get("MOODPLAYER_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
# The default per-test hang guard (pyproject) is too short for 10,000 cases on a shared machine.
pytestmark = pytest.mark.timeout(120 + FUZZ_EXAMPLES // 10)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
# Two levels deep is enough to reach every type check (a table where a value belongs, a list of
# tables...), and a fixed depth keeps generation stable over 10,000 cases.
inner = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.text(max_size=12), scalars, max_size=4),
)
values: st.SearchStrategy[Any] = st.one_of(
    inner, st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=3)
)
known_keys = {
    section: [f.name for f in S.dataclasses.fields(getattr(S.Settings(), section))]
    for section in ("camera", "model", "mood", "music", "kiosk", "window")
}
section_names = st.sampled_from([*known_keys, "version", "unknown"])


@st.composite
def settings_like(draw: st.DrawFn) -> dict[str, Any]:
    """Dicts shaped like a settings file, with the right keys most of the time and wild values."""
    data: dict[str, Any] = {}
    for section in draw(st.lists(section_names, max_size=7, unique=True)):
        if section in known_keys and draw(st.booleans()):
            keys = st.sampled_from([*known_keys[section], "bogus"])
            data[section] = draw(st.dictionaries(keys, values, max_size=6))
        else:
            data[section] = draw(values)
    return data


def _valid(result: S.LoadResult) -> None:
    s = result.settings
    assert isinstance(s, S.Settings)
    assert 0.0 <= s.music.volume <= 1.0
    assert s.music.repeat in ("all", "one", "off")
    assert s.music.strategy in S.STRATEGY_MAPPINGS
    assert 0.5 <= s.mood.window_s <= 60.0
    assert isinstance(s.camera.source, str)
    assert all(isinstance(x, str) for x in s.music.playlist_folders)
    assert set(s.mapping()) == set(S.EXPRESSIONS)
    # whatever was accepted can be saved and read back unchanged
    assert S.from_dict(S.to_dict(s)).settings == s


@FUZZ
@given(settings_like())
def test_any_settings_dict_gives_valid_settings(data: dict[str, Any]) -> None:
    result = S.from_dict(data)
    _valid(result)
    for problem in result.problems:
        assert ":" in problem  # each problem names its key first


@FUZZ
@given(st.binary(max_size=300) | settings_like().map(lambda d: _toml_or_junk(d)))
def test_any_settings_file_loads(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "settings.toml"
        path.write_bytes(raw)
        result = S.load(path)
        _valid(result)
        if result.backup is not None:
            # the unreadable file is kept, byte for byte, and the user is told
            assert result.backup.read_bytes() == raw
            assert result.problems


def _toml_or_junk(data: dict[str, Any]) -> bytes:
    try:
        return tomli_w.dumps(data).encode()
    except (TypeError, ValueError):
        return repr(data).encode()
