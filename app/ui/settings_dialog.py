"""The settings dialog. It edits a copy of the settings; OK saves them (atomically) and hands the
new settings to whoever listens to ``settings_accepted``; Cancel leaves everything as it was.

Its pages and fields come from the declarations in ``app.settings`` (label, help, range, choices):
every option with a label gets a field on its section's page. An option declared with
``widget="custom"`` is built here by the method ``_build_<section>_<name>`` (the camera chooser,
the mood → playlist table, the folder list, the PIN)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import platformdirs
import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import settings as settings_mod
from app.errors import UserError
from app.settings import (
    DEFAULT_PLAYLISTS,
    STRATEGY_MAPPINGS,
    Option,
    Settings,
    get_value,
    set_value,
)
from app.ui.calibration_view import CalibrationPanel, describe_baseline
from app.ui.session import Session
from app.ui.settings_fields import (
    OptionField,
    RadioField,
    hint,
    make_field,
    tooltip,
)
from app.ui.tasks import run_task
from app.vision.reading import EXPRESSIONS

log = logging.getLogger(__name__)

FILE_SOURCE = "file"  # the source combo's entry for a video file or an image folder
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm);;All files (*)"
# A sentence at the foot of a page (about the page as a whole, not one option).
PAGE_NOTES = {
    "Camera": "Frames are analysed on this computer and never stored or sent anywhere.",
    "Model": "The model runs on this computer. Nothing is downloaded.",
}
_MAPPING_ROW_PX = 34


NO_TRAY = "This desktop has no system tray."


def music_folder() -> str:
    """Where "Add a playlist folder" opens: the user's music folder (platformdirs: XDG_MUSIC_DIR,
    ~/Music, My Music), else the home folder; never the folder the app was started from."""
    music = Path(platformdirs.user_music_dir())
    return str(music if music.is_dir() else Path.home())


def choice_unavailable(key: str, value: str) -> str | None:
    """Why a declared choice cannot be used on this computer (None when it can)."""
    if key == "model.backend":
        from app.vision.model_registry import MODELS

        return MODELS.unavailable_reason(value) if value in MODELS else None
    if key == "model.detector":
        from app.vision.detector_registry import DETECTORS

        return DETECTORS.unavailable_reason(value) if value in DETECTORS else None
    return None


class SettingsDialog(QDialog):
    """One page per settings section, one field per declared option."""

    # The new settings, after they were saved.
    settings_accepted = Signal(object)

    def __init__(
        self,
        settings: Settings,
        settings_path: Path | None = None,
        playlist_names: Sequence[str] = (),
        parent: QWidget | None = None,
        camera_finder: Callable[[], list[int]] | None = None,
        unavailable: Callable[[str, str], str | None] = choice_unavailable,
        tray_available: bool | None = None,
        session: Session | None = None,
    ) -> None:
        super().__init__(parent)
        # The running session: Mood → "Your neutral face" calibrates with its camera at once.
        self.session = session
        self.calibration_panel: CalibrationPanel | None = None
        self.calibration_state: QLabel | None = None
        # Close to the tray and tray notifications need a tray (None: ask the desktop).
        if tray_available is None:
            from PySide6.QtWidgets import QSystemTrayIcon

            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray_available = tray_available
        self.setWindowTitle("Settings")
        self.setMinimumSize(620, 520)
        self._original = settings
        self._settings = copy.deepcopy(settings)
        self._path = settings_path
        self._options = settings_mod.options(type(settings))
        self._unavailable = unavailable
        names = list(playlist_names) or list(DEFAULT_PLAYLISTS)
        for target in self._settings.mapping().values():
            if target not in names:
                names.append(target)
        self._playlist_names = names
        self._camera_finder = camera_finder
        # key -> the field of every declared option shown by type.
        self.fields: dict[str, OptionField] = {}
        # key -> (show the value, store the value) for the options built here by hand.
        self._custom: dict[str, tuple[Callable[[Settings], None], Callable[[Settings], None]]] = {}
        self._setup_ui()
        self._connect()
        self._load(self._settings)
        self._fit_screen()

    def _fit_screen(self) -> None:
        """Tall enough for the Music page where the screen allows (pages scroll otherwise)."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        height = 720 if screen is None else max(520, min(720, screen.height() - 60))
        self.resize(max(self.width(), 660), height)

    # -- building -------------------------------------------------------------------------------

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        pages: dict[str, list[Option]] = {}
        for opt in self._options.values():
            if opt.visible and opt.page:
                pages.setdefault(opt.page, []).append(opt)
        for page, declared in pages.items():
            self.tabs.addTab(self._page(page, declared), page)
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

    def _page(self, page: str, declared: list[Option]) -> QWidget:
        """A scrolling page (nothing overlaps in a small window) with a row per option."""
        inner = QWidget()
        form = QFormLayout(inner)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for opt in declared:
            if opt.widget == "custom":
                build = getattr(self, "_build_" + opt.key.replace(".", "_"), None)
                if build is None:
                    raise TypeError(f"{opt.key} is declared widget='custom' but has no builder")
                build(opt, form)
                continue
            made = make_field(opt, self._unavailable)
            self.fields[opt.key] = made
            parts = (
                opt.help if made.show_help else "",
                f"Applies {opt.applies}." if opt.applies else "",
            )
            text = " ".join(part for part in parts if part)
            cell: QWidget = made.widget
            if text:  # the help right under its field, as one cell of the form
                cell = QWidget()
                stack = QVBoxLayout(cell)
                stack.setContentsMargins(0, 0, 0, 0)
                stack.setSpacing(3)
                stack.addWidget(made.widget)
                stack.addWidget(hint(text))
            if made.has_own_label and form.rowCount() == 0:
                form.addRow(cell)  # a page's first check box spans the page
            elif made.has_own_label:
                form.addRow("", cell)
            else:
                label = QLabel(opt.label)
                label.setToolTip(tooltip(opt))
                form.addRow(label, cell)
            made.row_label = form.labelForField(cell)
        note = PAGE_NOTES.get(page)
        if note:
            form.addRow(hint(note))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        scroll.setObjectName(f"page-{page}")
        return scroll

    def _build_camera_source(self, opt: Option, form: QFormLayout) -> None:
        source_row = QHBoxLayout()
        self.source_combo = QComboBox()
        self.source_combo.setObjectName(opt.key)
        self.source_combo.setToolTip(tooltip(opt))
        self.find_cameras_button = QPushButton("Find cameras")
        self.find_cameras_button.setToolTip("Look for connected cameras (takes a moment)")
        source_row.addWidget(self.source_combo, 1)
        source_row.addWidget(self.find_cameras_button)
        form.addRow(opt.label, source_row)
        file_row = QHBoxLayout()
        self.source_path = QLineEdit()
        self.source_path.setPlaceholderText("A video file or a folder of images")
        self.browse_video = QPushButton("Video…")
        self.browse_folder = QPushButton("Folder…")
        file_row.addWidget(self.source_path, 1)
        file_row.addWidget(self.browse_video)
        file_row.addWidget(self.browse_folder)
        self.source_path_label = QLabel("File")
        form.addRow(self.source_path_label, file_row)
        self._custom[opt.key] = (self._show_source, self._store_source)

    def _build_music_mapping(self, opt: Option, form: QFormLayout) -> None:
        self.mapping_table = QTableWidget(len(EXPRESSIONS), 2)
        self.mapping_table.setObjectName(opt.key)
        self.mapping_table.setToolTip(tooltip(opt))
        self.mapping_table.setHorizontalHeaderLabels(["Expression", "Playlist"])
        self.mapping_table.verticalHeader().hide()
        header = self.mapping_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        rows = self.mapping_table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(_MAPPING_ROW_PX)
        self.mapping_combos: dict[str, QComboBox] = {}
        for row_index, expression in enumerate(EXPRESSIONS):
            self.mapping_table.setCellWidget(row_index, 0, QLabel(f"  {expression.capitalize()}"))
            combo = QComboBox()
            for name in self._playlist_names:
                combo.addItem(name, name)
            self.mapping_table.setCellWidget(row_index, 1, combo)
            self.mapping_combos[expression] = combo
        # Exactly as tall as its rows: the layout can never squeeze it under the rows below.
        self.mapping_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.mapping_table.setFixedHeight(
            header.sizeHint().height()
            + _MAPPING_ROW_PX * len(EXPRESSIONS)
            + 2 * self.mapping_table.frameWidth()
        )
        form.addRow(QLabel(opt.label))
        form.addRow(self.mapping_table)
        self._custom[opt.key] = (self._show_mapping_of, self._store_mapping)

    def _build_music_playlist_folders(self, opt: Option, form: QFormLayout) -> None:
        row = QHBoxLayout()
        self.folder_list = QListWidget()
        self.folder_list.setObjectName(opt.key)
        self.folder_list.setToolTip(tooltip(opt))
        self.folder_list.setMaximumHeight(90)
        row.addWidget(self.folder_list, 1)
        buttons = QVBoxLayout()
        self.add_folder_button = QPushButton("Add…")
        self.remove_folder_button = QPushButton("Remove")
        buttons.addWidget(self.add_folder_button)
        buttons.addWidget(self.remove_folder_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        form.addRow(QLabel(opt.label))
        form.addRow(row)
        self._custom[opt.key] = (self._show_folders, self._store_folders)

    def _build_mood_calibration(self, opt: Option, form: QFormLayout) -> None:
        """The live calibration panel (it runs at once, with the session's camera); without a
        session, what is stored."""
        box = QWidget()
        box.setObjectName(opt.key)
        box.setToolTip(tooltip(opt))
        inner = QVBoxLayout(box)
        inner.setContentsMargins(0, 4, 0, 4)
        if self.session is not None:
            self.calibration_panel = CalibrationPanel(self.session)
            self.calibration_panel.baseline_changed.connect(self._on_baseline_changed)
            inner.addWidget(self.calibration_panel)
        else:
            self.calibration_state = hint("")
            inner.addWidget(self.calibration_state)
        form.addRow(QLabel(opt.label))
        form.addRow(box)
        self._custom[opt.key] = (self._show_calibration, self._store_calibration)

    def _show_calibration(self, s: Settings) -> None:
        if self.calibration_state is not None:
            self.calibration_state.setText(
                describe_baseline(s.mood.calibration, s.mood.calibration_on)
            )

    def _store_calibration(self, s: Settings) -> None:
        s.mood.calibration = list(self._settings.mood.calibration)

    def _on_baseline_changed(self, values: list[float]) -> None:
        """A calibration made or reset here is stored already: the copy follows, and the
        correction is on after a new one."""
        self._settings.mood.calibration = list(values)
        if values:
            self._settings.mood.calibration_on = True
            self.fields["mood.calibration_on"].set_value(True)
        self._update_enabled()

    def _build_kiosk_pin_hash(self, opt: Option, form: QFormLayout) -> None:
        pin_row = QHBoxLayout()
        self.pin_edit = QLineEdit()
        self.pin_edit.setObjectName(opt.key)
        self.pin_edit.setToolTip(tooltip(opt))
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setPlaceholderText("4 to 12 digits; empty keeps the current PIN")
        self.clear_pin = QCheckBox("No PIN")
        self.clear_pin.setToolTip("Without a PIN, kiosk mode cannot be left from the screen.")
        pin_row.addWidget(self.pin_edit, 1)
        pin_row.addWidget(self.clear_pin)
        form.addRow(opt.label, pin_row)
        self.pin_state = hint("")
        form.addRow("", self.pin_state)
        self._custom[opt.key] = (self._show_pin, self._store_pin)

    def _connect(self) -> None:
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.source_combo.currentIndexChanged.connect(self._update_enabled)
        self.fields["camera.enabled"].widget.toggled.connect(self._update_enabled)  # type: ignore[attr-defined]
        self.find_cameras_button.clicked.connect(self.find_cameras)
        self.browse_video.clicked.connect(self._choose_video)
        self.browse_folder.clicked.connect(self._choose_folder)
        self._radio("music.strategy").toggled.connect(self._on_strategy_changed)
        self.add_folder_button.clicked.connect(self._add_folder)
        self.remove_folder_button.clicked.connect(self._remove_folder)
        self._radio("model.backend").toggled.connect(self._update_enabled)
        self.clear_pin.toggled.connect(self._update_enabled)

    def _radio(self, key: str) -> RadioField:
        found = self.fields[key]
        assert isinstance(found, RadioField), key
        return found

    # -- values in and out ----------------------------------------------------------------------

    def _load(self, s: Settings) -> None:
        for key, shown in self.fields.items():
            shown.set_value(get_value(s, key))
        for show, _store in self._custom.values():
            show(s)
        self._update_enabled()

    def collect(self) -> Settings:
        """The settings as the dialog shows them (raises UserError for a value that cannot be)."""
        s = copy.deepcopy(self._settings)
        for key, shown in self.fields.items():
            value, problem = shown.option.check(shown.value())
            if problem is not None:  # a widget that can hold what its declaration refuses
                reason = problem.partition(": ")[2].partition("; using")[0]
                raise UserError(f"{shown.option.label}: {reason}.")
            set_value(s, key, value)
        for _show, store in self._custom.values():
            store(s)
        if s.model.backend == "onnx":
            path = s.model.onnx_path
            if not path or not Path(path).expanduser().is_file():
                raise UserError(
                    "Choose an existing .onnx file for your own model, or use the bundled one."
                )
        return s

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

    def _show_source(self, s: Settings) -> None:
        self._set_cameras([0], s.camera.source)
        if not s.camera.source.isdigit():
            self.source_path.setText(s.camera.source)

    def _store_source(self, s: Settings) -> None:
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

    def _show_mapping_of(self, s: Settings) -> None:
        self._show_mapping(s.mapping())

    def _show_mapping(self, mapping: dict[str, str]) -> None:
        for expression, combo in self.mapping_combos.items():
            index = combo.findData(mapping.get(expression))
            combo.setCurrentIndex(max(0, index))

    def _store_mapping(self, s: Settings) -> None:
        defaults = STRATEGY_MAPPINGS[s.music.strategy]
        chosen = {e: str(c.currentData()) for e, c in self.mapping_combos.items()}
        s.music.mapping = {e: p for e, p in chosen.items() if defaults.get(e) != p}

    def _on_strategy_changed(self, *_args: object) -> None:
        self._show_mapping(dict(STRATEGY_MAPPINGS[self._radio("music.strategy").value()]))

    def _show_folders(self, s: Settings) -> None:
        self.folder_list.clear()
        self.folder_list.addItems(s.music.playlist_folders)

    def _store_folders(self, s: Settings) -> None:
        s.music.playlist_folders = [
            self.folder_list.item(i).text() for i in range(self.folder_list.count())
        ]

    def _show_pin(self, s: Settings) -> None:
        self.clear_pin.setChecked(False)
        self.pin_edit.clear()
        self.pin_state.setText(
            "A PIN is set." if s.kiosk.pin_hash else "No PIN set: kiosk mode cannot be left."
        )

    def _store_pin(self, s: Settings) -> None:
        pin = self.pin_edit.text().strip()
        if self.clear_pin.isChecked():
            s.kiosk.pin_hash = ""
        elif pin:
            from app.kiosk import apply_pin_argument

            apply_pin_argument(s, pin)  # UserError for a PIN that is not 4-12 digits

    def _update_enabled(self, *_args: object) -> None:
        camera = self.fields["camera.enabled"].value()
        is_file = self.source_combo.currentData() == FILE_SOURCE
        widget: QWidget
        for widget in (self.source_combo, self.find_cameras_button):
            widget.setEnabled(camera)
        self.fields["camera.analysis_rate"].set_enabled(camera)
        for widget in (
            self.source_path_label,
            self.source_path,
            self.browse_video,
            self.browse_folder,
        ):
            widget.setEnabled(camera and is_file)
        self.fields["camera.loop_video"].set_enabled(camera and is_file)
        self.fields["model.onnx_path"].set_enabled(self._radio("model.backend").value() == "onnx")
        self.pin_edit.setEnabled(not self.clear_pin.isChecked())
        calibrated = bool(self._settings.mood.calibration)
        for key in ("mood.calibration_on", "mood.calibration_strength"):
            self.fields[key].set_enabled(calibrated)
        for key in ("desktop.close_to_tray", "desktop.notify_music"):
            field = self.fields[key]
            field.set_enabled(self.tray_available)
            if not self.tray_available:
                field.widget.setToolTip(f"{NO_TRAY} {tooltip(field.option)}")

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
            from app.vision.camera import list_cameras

            finder = list_cameras
        self.find_cameras_button.setEnabled(False)
        self.find_cameras_button.setText("Looking…")

        def found(cameras: list[int]) -> None:
            if not shiboken6.isValid(self):  # the dialog was closed meanwhile
                log.debug("camera probe finished after the dialog closed")
                return
            self._on_cameras_found(list(cameras))

        def failed(exc: BaseException) -> None:
            # a driver that misbehaves must not take the dialog down
            log.error("looking for cameras failed", exc_info=exc)
            found([])

        run_task(lambda: list(finder()), found, failed, name="camera-probe")

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

    def _add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a playlist folder", music_folder())
        if path:
            self.add_playlist_folder(path)

    def add_playlist_folder(self, path: str) -> None:
        existing = [self.folder_list.item(i).text() for i in range(self.folder_list.count())]
        if path not in existing:
            self.folder_list.addItem(path)

    def _remove_folder(self) -> None:
        for item in self.folder_list.selectedItems():
            self.folder_list.takeItem(self.folder_list.row(item))
