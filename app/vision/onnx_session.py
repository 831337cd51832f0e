"""onnxruntime sessions for MoodPlayer's models (the expression models, the BlazeFace detector):
made one way, on the CPU, and never running when the process exits.

A run still going on a worker thread (the capture thread, a model loading in the background)
when the interpreter exits kills the process: onnxruntime's type singletons are destroyed under
it ("terminate called without an active exception", or its log line "GetElementType is not
implemented"). So at exit every session waits for its run to end (``EXIT_WAIT_S`` at most)
and starts no other.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from typing import Any

# onnxruntime >= 1.29 on Linux and macOS collects telemetry: it writes a persistent device id
# (~/.cache/Microsoft/DeveloperTools) and queues events for Microsoft's servers. MoodPlayer
# promises to stay offline, so it is off (before onnxruntime is first imported) unless the user
# set the variable. Found by tests/reliability/test_privacy.py.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

log = logging.getLogger(__name__)

EXIT_WAIT_S = 5.0

_sessions: weakref.WeakSet[OnnxSession] = weakref.WeakSet()


class OnnxSession:
    """An ``onnxruntime.InferenceSession`` on the CPU (``threads`` for one operator, one operator
    at a time, no spinning between runs) whose ``run`` is never in flight at exit. Raises what
    onnxruntime raises for a model it cannot load."""

    def __init__(self, model: bytes, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.threads = options.intra_op_num_threads
        self._session: Any = ort.InferenceSession(
            model, options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()
        _sessions.add(self)

    def get_inputs(self) -> Any:
        return self._session.get_inputs()

    def get_outputs(self) -> Any:
        return self._session.get_outputs()

    def run(self, output_names: list[str] | None, feeds: dict[str, Any]) -> Any:
        # At exit the lock is taken for good: a run asked for then waits (a daemon thread's end).
        with self._lock:
            return self._session.run(output_names, feeds)

    def _hold_for_exit(self, deadline: float) -> bool:
        """Wait for the run in flight (until ``deadline``) and keep any other from starting."""
        return self._lock.acquire(timeout=max(0.0, deadline - time.monotonic()))


@atexit.register
def _no_runs_at_exit() -> None:
    deadline = time.monotonic() + EXIT_WAIT_S
    busy = [s for s in list(_sessions) if not s._hold_for_exit(deadline)]
    if busy:
        log.warning("%d model run(s) still going at exit after %.0f s", len(busy), EXIT_WAIT_S)
