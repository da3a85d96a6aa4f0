"""Stop requests from signals, kept free of heavy imports so the handlers can be installed before
torch loads (importing torch takes seconds, and a SIGTERM in that window should not be lost)."""

from __future__ import annotations

import signal
from typing import Callable, Dict, Optional

# Exit status for a run suspended by a signal: the shell convention 128 + signal number
# (143 for SIGTERM, 130 for SIGINT), so callers can tell "stopped" from "finished" by the code.
SIGNAL_EXIT_BASE = 128


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
