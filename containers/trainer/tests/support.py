"""Helpers for tests: tiny training jobs under a temporary SYNTHFORGE_ML_ROOT.

Everything is sized for a 2-core CPU: 32-pixel crops, ResNet-18, 2 batches of 8 per epoch,
num_workers 0 (workers would cost more to start than they save here).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Dict, Optional

from synthforge_trainer.paths import MLPaths
from synthforge_trainer.progress import RunLog
from synthforge_trainer.synthetic import write_synthetic_identities

# SageMaker's form: every value a string.
FAST_HYPERPARAMETERS: Dict[str, str] = {
    "num_epochs": "2",
    "batch_size": "8",
    "image_size": "32",
    "num_workers": "0",
    "embedding_dim": "32",
    "use_cbam": "true",
    "attention_layers": '["layer1","layer4"]',
    "eval_fraction": "0.2",
    "seed": "7",
}


def make_job(
    root: Path,
    overrides: Optional[Dict[str, Any]] = None,
    identities: int = 5,
    crops: int = 4,
) -> MLPaths:
    """A job folder with a synthetic `train` channel and hyperparameters.json.

    5 identities × 4 crops: 1 identity is held out, 4 × 4 = 16 crops train in 2 batches of 2×4.
    """
    paths = MLPaths(root)
    write_synthetic_identities(paths.train_data, identities, crops, image_size=32, seed=3)
    write_hyperparameters(paths, {**FAST_HYPERPARAMETERS, **(overrides or {})})
    return paths


def write_hyperparameters(paths: MLPaths, hyperparameters: Dict[str, Any]) -> None:
    paths.hyperparameters.parent.mkdir(parents=True, exist_ok=True)
    paths.hyperparameters.write_text(json.dumps(hyperparameters), encoding="utf-8")


def read_progress(paths: MLPaths) -> Dict[str, Any]:
    return json.loads(paths.progress.read_text(encoding="utf-8"))


def quiet_log() -> RunLog:
    """A RunLog that keeps lines in memory instead of flooding pytest's captured output."""
    return RunLog(stream=io.StringIO())
