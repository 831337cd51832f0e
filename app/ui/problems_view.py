"""The "Problems" view: every file the player skipped, with its reason (View → Problems)."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.problems import Problem, ProblemList


class ProblemFeed(QObject):
    """Brings problems reported on any thread to the GUI thread (a queued signal)."""

    added = Signal(object)

    def __init__(self, listing: ProblemList, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.listing = listing
        self._unsubscribe: Callable[[], None] | None = listing.subscribe(self.added.emit)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


class ProblemsDialog(QDialog):
    def __init__(self, feed: ProblemFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.feed = feed
        self.setWindowTitle("Problems")
        self.resize(760, 360)
        self._setup_ui()
        self._connect()
        for problem in feed.listing.items():
            self._add(problem)
        self._update_summary()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["When", "What", "File", "Why"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setColumnWidth(0, 70)
        self.tree.setColumnWidth(1, 110)
        self.tree.setColumnWidth(2, 330)
        layout.addWidget(self.tree, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = self.buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.clear_button = self.buttons.addButton("Clear", QDialogButtonBox.ButtonRole.ResetRole)
        layout.addWidget(self.buttons)

    def _connect(self) -> None:
        self.feed.added.connect(self._on_added, Qt.ConnectionType.QueuedConnection)
        self.buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy_all)
        self.clear_button.clicked.connect(self.clear)

    def _add(self, problem: Problem) -> None:
        when = time.strftime("%H:%M:%S", time.localtime(problem.time))
        item = QTreeWidgetItem([when, problem.kind, problem.path, problem.reason])
        item.setToolTip(2, problem.path)
        item.setToolTip(3, problem.reason)
        self.tree.addTopLevelItem(item)

    def _on_added(self, problem: Problem) -> None:
        self._add(problem)
        self._update_summary()

    def _update_summary(self) -> None:
        count = self.tree.topLevelItemCount()
        self.summary.setText(
            "Nothing was skipped."
            if count == 0
            else f"{count} file{'s' if count != 1 else ''} could not be played or read. "
            "The music goes on without them."
        )
        self.clear_button.setEnabled(count > 0)
        self.copy_button.setEnabled(count > 0)

    def text(self) -> str:
        rows = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None:
                rows.append("\t".join(item.text(c) for c in range(4)))
        return "\n".join(rows)

    def copy_all(self) -> None:
        QApplication.clipboard().setText(self.text())

    def clear(self) -> None:
        self.feed.listing.clear()
        self.tree.clear()
        self._update_summary()
