"""The SageMaker training-container directory layout, rooted at one folder.

SageMaker mounts everything under /opt/ml; the local platform runs the trainer as a plain process
and points `SYNTHFORGE_ML_ROOT` at a job folder instead, so both see the same relative layout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

ROOT_ENV_VAR = "SYNTHFORGE_ML_ROOT"
DEFAULT_ROOT = "/opt/ml"


@dataclass(frozen=True)
class MLPaths:
    """Every path the trainer reads or writes."""

    root: Path

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "MLPaths":
        env = os.environ if environ is None else environ
        return cls(Path(env.get(ROOT_ENV_VAR) or DEFAULT_ROOT))

    @property
    def hyperparameters(self) -> Path:
        return self.root / "input" / "config" / "hyperparameters.json"

    @property
    def train_data(self) -> Path:
        """The `train` channel: one folder per identity holding its crops."""
        return self.root / "input" / "data" / "train"

    @property
    def model_dir(self) -> Path:
        """Uploaded by SageMaker as model.tar.gz when the job ends: the final and best weights only."""
        return self.root / "model"

    @property
    def model_weights(self) -> Path:
        return self.model_dir / "model.pt"

    @property
    def model_metadata(self) -> Path:
        return self.model_dir / "model.json"

    @property
    def model_best_weights(self) -> Path:
        """The lowest-loss epoch's weights, when that epoch is not the last one (else model.pt is they)."""
        return self.model_dir / "model_best.pt"

    @property
    def checkpoints_dir(self) -> Path:
        """Synced to S3 by SageMaker while the job runs (CheckpointConfig) and restored on a new job."""
        return self.root / "checkpoints"

    @property
    def checkpoint(self) -> Path:
        return self.checkpoints_dir / "checkpoint.pt"

    @property
    def progress(self) -> Path:
        return self.checkpoints_dir / "progress.json"

    @property
    def best_weights(self) -> Path:
        """The lowest-loss epoch's weights so far, kept with the checkpoint so that a resumed run has them."""
        return self.checkpoints_dir / "best.pt"

    def epoch_weights(self, epoch: int) -> Path:
        """`save_intermediate`: each epoch's weights, with the checkpoints (never in model.tar.gz)."""
        return self.checkpoints_dir / "epochs" / f"epoch_{epoch:03d}.pt"

    @property
    def failure(self) -> Path:
        """Its text becomes the training job's FailureReason."""
        return self.root / "output" / "failure"
