"""Checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is written after every epoch and when a run is suspended mid-epoch. Together with the
per-epoch batch plan (data.PKBatchSampler) it reproduces the uninterrupted run bit for bit on CPU:
same weights, optimizer moments, learning-rate schedule, margin, and random streams.
"""

from __future__ import annotations

import io
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from torch import nn

from .progress import write_bytes_atomic

CHECKPOINT_FORMAT_VERSION = 1

try:  # numpy is optional: record its stream only when something could be using it.
    import numpy
except ImportError:  # pragma: no cover - the Debian image ships numpy
    numpy = None  # type: ignore[assignment]


@dataclass
class TrainingState:
    """The loop's own counters, beside the model/optimizer/scheduler state dicts.

    `batches_done` > 0 means the run stopped inside epoch `epochs_completed` + 1 and the epoch's
    running sums are needed to finish its loss exactly as an uninterrupted run would.
    """

    epochs_completed: int = 0
    batches_done: int = 0
    epoch_loss_sum: float = 0.0
    epoch_loss_batches: int = 0
    margin: float = 0.0
    best_loss: Optional[float] = None
    # The epoch of `best_loss`, whose weights are in checkpoints/best.pt (None in older checkpoints).
    best_epoch: Optional[int] = None
    previous_epoch_loss: Optional[float] = None
    epochs_without_improvement: int = 0
    loss_history: List[float] = field(default_factory=list)
    epoch_seconds: List[float] = field(default_factory=list)
    last_metrics: Optional[Dict[str, float]] = None
    stopped_early: bool = False
    pretrained_weights: Optional[str] = None


def capture_rng_state() -> Dict[str, Any]:
    """Every random stream a training step can draw from (dropout uses torch's global generator)."""
    state: Dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if numpy is not None:
        state["numpy"] = numpy.random.get_state()
    return state


def restore_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "numpy" in state and numpy is not None:
        numpy.random.set_state(state["numpy"])


def save_checkpoint(
    path: Path,
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: TrainingState,
    config: Dict[str, Any],
    dataset: Dict[str, Any],
    dataloader_generator: torch.Generator,
) -> None:
    """Serialise in memory, then write atomically: a SIGKILL mid-write leaves the previous
    checkpoint intact rather than a truncated file."""
    payload = {
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "model": network.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "state": asdict(state),
        "config": config,
        "dataset": dataset,
        "rng": capture_rng_state(),
        "dataloader_generator": dataloader_generator.get_state(),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path, device: torch.device) -> Dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`. It holds Python objects (RNG states), so
    weights_only is off: the file is this trainer's own output, not third-party input."""
    payload = torch.load(path, map_location=device, weights_only=False)
    version = payload.get("format_version")
    if version != CHECKPOINT_FORMAT_VERSION:
        raise ValueError(f"checkpoint {path} has format version {version}, this trainer reads {CHECKPOINT_FORMAT_VERSION}")
    return payload


def training_state_from(payload: Dict[str, Any]) -> TrainingState:
    return TrainingState(**payload["state"])
