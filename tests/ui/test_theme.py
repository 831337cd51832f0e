"""The style sheet's images are shipped: a missing one would silently leave blank spin box arrows
and radio buttons."""

from __future__ import annotations

import re
from pathlib import Path

from app.ui import theme


def test_every_image_the_style_sheet_names_exists() -> None:
    urls = re.findall(r'url\("([^"]+)"\)', theme.STYLE_SHEET)
    assert len(urls) >= 5  # spin up/down, radio off/on/disabled
    missing = [url for url in urls if not Path(url).is_file()]
    assert missing == []
