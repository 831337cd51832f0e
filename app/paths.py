"""Where things live: read-only resources that ship with the app, and the user's own folders.

Resources (models, default playlists, assets) sit at the repository root in a checkout and under
``app/_data`` inside an installed wheel. User settings, logs, playlists and models live in the
platform's folders (platformdirs), never inside the install.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

from app import APP_ID

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The shipped folder ``name`` (``models``, ``playlists`` or ``assets``)."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name


def models_dir() -> Path:
    return resource_dir("models")


def playlists_dir() -> Path:
    return resource_dir("playlists")


def assets_dir() -> Path:
    return resource_dir("assets")


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_ID, appauthor=False))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_ID, appauthor=False))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_ID, appauthor=False))


def user_models_dir() -> Path:
    return data_dir() / "models"


def user_playlists_dir() -> Path:
    return data_dir() / "playlists"


def settings_file() -> Path:
    return config_dir() / "settings.toml"
