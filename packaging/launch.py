"""The frozen app's entry point (PyInstaller runs this file): the same ``app.cli:main`` as the
``moodplayer`` and ``moodplayer-cli`` scripts of the wheel."""

from app.cli import main

raise SystemExit(main())
