"""Margin decay, early stopping and the max-runtime rule, on hand-written loss sequences."""

import pytest

from synthforge_trainer.schedules import EarlyStopping, next_epoch_fits, next_margin


def test_margin_decays_only_when_the_relative_loss_change_is_below_the_threshold():
    # Prepare: threshold 0.01 (1 %), decay 0.9.
    decide = lambda previous, current: next_margin(0.4, previous, current, 0.9, 0.01)  # noqa: E731

    # Act / Assess
    assert decide(None, 0.5) == 0.4, "the first epoch has nothing to compare with: no decay"
    assert decide(0.500, 0.400) == 0.4, "a 20 % improvement: still learning, keep the margin"
    assert decide(0.500, 0.600) == 0.4, "a 20 % rise is a change too: keep the margin"
    assert decide(0.500, 0.498) == pytest.approx(0.36), "a 0.4 % change is a plateau: 0.4 x 0.9"
    assert decide(0.500, 0.505) == 0.4, "exactly 1 % is not below the threshold"


def test_early_stopping_stops_after_patience_epochs_without_a_new_best():
    # Prepare: patience 3; best at epoch 2, then three epochs without beating it.
    stopping = EarlyStopping(patience=3)
    losses = [1.0, 0.8, 0.85, 0.8, 0.9, 0.7]

    # Act
    stopped_at = next(epoch for epoch, loss in enumerate(losses, start=1) if stopping.update(loss))

    # Assess
    assert stopped_at == 5
    assert stopping.best_loss == 0.8


def test_early_stopping_patience_zero_never_stops():
    # Prepare
    stopping = EarlyStopping(patience=0)

    # Act
    decisions = [stopping.update(1.0) for _ in range(20)]

    # Assess
    assert not any(decisions)


def test_next_epoch_must_fit_in_the_remaining_runtime_by_mean_epoch_time():
    # Assess: mean of 10 s and 20 s is 15 s.
    assert next_epoch_fits(elapsed_seconds=80, epoch_seconds=[10, 20], max_runtime_seconds=100)
    assert not next_epoch_fits(elapsed_seconds=90, epoch_seconds=[10, 20], max_runtime_seconds=100)
    assert next_epoch_fits(elapsed_seconds=99, epoch_seconds=[], max_runtime_seconds=100), "no estimate yet"
    assert next_epoch_fits(elapsed_seconds=10**6, epoch_seconds=[10], max_runtime_seconds=None)
