"""Per-epoch decisions: margin decay, early stopping, and whether another epoch fits the time left.

They are pure functions and a small dataclass so each rule can be tested on a hand-written loss
sequence, without training anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence


def relative_loss_change(previous_loss: float, current_loss: float) -> float:
    """|previous − current| / |previous|; 0 when both are 0 (a loss stuck at 0 is a plateau)."""
    if previous_loss == 0:
        return 0.0 if current_loss == 0 else float("inf")
    return abs(previous_loss - current_loss) / abs(previous_loss)


def next_margin(
    margin: float,
    previous_loss: Optional[float],
    current_loss: float,
    decay_rate: float,
    change_threshold: float,
) -> float:
    """The triplet margin for the next epoch.

    Rule: after an epoch, if there is a previous epoch and the relative loss change
    |L_prev − L_cur| / |L_prev| is strictly below `change_threshold` (the loss has plateaued),
    the margin becomes margin × decay_rate; otherwise it is kept. The first epoch never decays.

    Why on a plateau: a smaller margin asks less of the embedding once the current margin has stopped
    yielding progress, and keeping it while the loss still moves avoids shrinking the task early.
    """
    if previous_loss is None:
        return margin
    if relative_loss_change(previous_loss, current_loss) < change_threshold:
        return margin * decay_rate
    return margin


@dataclass
class EarlyStopping:
    """Stops after `patience` consecutive epochs without a new best (strictly lower) loss.

    `patience` 0 turns early stopping off.
    """

    patience: int
    best_loss: Optional[float] = None
    epochs_without_improvement: int = 0

    def update(self, loss: float) -> bool:
        """Record an epoch's loss; True when training should stop now."""
        if self.best_loss is None or loss < self.best_loss:
            self.best_loss = loss
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        return self.patience > 0 and self.epochs_without_improvement >= self.patience


def next_epoch_fits(elapsed_seconds: float, epoch_seconds: Sequence[float], max_runtime_seconds: Optional[int]) -> bool:
    """Whether starting another epoch should finish within `max_runtime_seconds`.

    The estimate is the mean duration of the epochs measured so far (training, evaluation and
    checkpoint). With no measurement yet the epoch is started: there is nothing to estimate from,
    and the per-batch check still stops the run at the limit.
    """
    if max_runtime_seconds is None or not epoch_seconds:
        return True
    estimate = sum(epoch_seconds) / len(epoch_seconds)
    return elapsed_seconds + estimate <= max_runtime_seconds
