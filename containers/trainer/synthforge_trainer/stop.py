"""Stop requests from signals, kept free of heavy imports so the handlers can be installed before
torch loads (importing torch takes seconds, and a SIGTERM in that window should not be lost)."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Callable, Dict, Mapping, Optional

# Exit status for a run suspended by a signal: the shell convention 128 + signal number
# (143 for SIGTERM, 130 for SIGINT), so callers can tell "stopped" from "finished" by the code.
SIGNAL_EXIT_BASE = 128

# Set to "stdin" by a parent that holds this process's stdin open and never writes to it (the local
# platform, lambdas/local/support/child-process.ts): the end of stdin then means the parent is gone.
EXIT_WITH_PARENT_VARIABLE = "SYNTHFORGE_EXIT_WITH_PARENT"

# How long a run whose parent is gone gets to reach its next batch and checkpoint, as the local
# platform gives a trainer after SIGTERM, before the process ends regardless.
PARENT_GONE_GRACE_SECONDS = 30.0


class StopRequest:
    """A flag the training loop polls between batches.

    Handlers only set the flag: printing or writing files from a signal handler can re-enter I/O
    that the interrupted code was in the middle of.
    """

    def __init__(self) -> None:
        self.signal_number: Optional[int] = None

    def request(self, signal_number: int) -> None:
        if self.signal_number is None:
            self.signal_number = signal_number

    @property
    def requested(self) -> bool:
        return self.signal_number is not None

    @property
    def signal_name(self) -> str:
        if self.signal_number is None:
            return ""
        try:
            return signal.Signals(self.signal_number).name
        except ValueError:
            return f"signal {self.signal_number}"

    @property
    def exit_code(self) -> int:
        return SIGNAL_EXIT_BASE + (self.signal_number or 0)


def install_stop_handlers(stop: StopRequest) -> Callable[[], None]:
    """Route SIGTERM (SageMaker's stop and MaxRuntime) and SIGINT (Ctrl-C) to `stop`.

    A second SIGINT raises KeyboardInterrupt, for a person at a terminal who does not want to wait
    for the current batch. Returns a function that restores the previous handlers.
    """

    def on_signal(signal_number: int, _frame: object) -> None:
        if signal_number == signal.SIGINT and stop.requested:
            raise KeyboardInterrupt
        stop.request(signal_number)

    previous: Dict[int, object] = {}
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        previous[signal_number] = signal.signal(signal_number, on_signal)

    def restore() -> None:
        for signal_number, handler in previous.items():
            signal.signal(signal_number, handler)  # type: ignore[arg-type]

    return restore


def exit_with_parent(
    stop: StopRequest,
    env: Mapping[str, str],
    stdin_fd: int = 0,
    grace_seconds: float = PARENT_GONE_GRACE_SECONDS,
) -> Optional[threading.Thread]:
    """Stop as on SIGTERM once stdin ends, when `env` asks for it; return the watching thread.

    Only with SYNTHFORGE_EXIT_WITH_PARENT=stdin: the local platform starts the trainer with a stdin
    pipe it never writes, which ends when the platform's process does, however it ends (SIGKILL
    included, which no handler sees). On SageMaker the variable is unset and stdin is not read.

    On the end of stdin the run is asked to stop as SIGTERM asks it (it checkpoints at its next
    batch and exits 143), its output goes to /dev/null (nobody reads the pipes any more, and a
    write to them would fail the run instead of stopping it), and if the process is still there
    after `grace_seconds` it ends with the same status.
    """
    if env.get(EXIT_WITH_PARENT_VARIABLE) != "stdin":
        return None

    def watch() -> None:
        try:
            while os.read(stdin_fd, 65536):
                pass
        except OSError:
            pass
        _discard_output()
        stop.request(signal.SIGTERM)
        time.sleep(grace_seconds)
        os._exit(stop.exit_code)

    watcher = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    watcher.start()
    return watcher


def _discard_output() -> None:
    """Point stdout and stderr at /dev/null, below Python's buffers, so writes keep succeeding."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for fd in (1, 2):
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
    os.close(devnull)
