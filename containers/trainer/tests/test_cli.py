"""The trainer as the platform runs it: `python3 -m synthforge_trainer` with SYNTHFORGE_ML_ROOT."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import torch

from support import FAST_HYPERPARAMETERS, make_job, read_progress, write_hyperparameters
from synthforge_trainer.model import EmbeddingNetwork

TRAINER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_trainer(root) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "synthforge_trainer", "train"],
        cwd=TRAINER_DIR,
        env={**os.environ, "SYNTHFORGE_ML_ROOT": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_two_epoch_job_writes_the_model_and_completed_progress(tmp_path):
    # Prepare
    paths = make_job(tmp_path)

    # Act
    process = start_trainer(tmp_path)
    output, _ = process.communicate(timeout=120)

    # Assess
    assert process.returncode == 0, output
    assert "epoch 2/2 loss=" in output
    metadata = json.loads(paths.model_metadata.read_text())
    assert (metadata["epochs_run"], metadata["backbone"], metadata["embedding_dim"]) == (2, "resnet18", 32)
    assert metadata["pretrained_weights"] is False, "offline there are no ImageNet weights to load"
    assert set(metadata["metrics"]) == {"recall_at_1", "mean_average_precision"}
    network = EmbeddingNetwork(metadata["backbone"], metadata["embedding_dim"], 0.0, metadata["attention_layers"])
    network.load_state_dict(torch.load(paths.model_weights))
    network.eval()
    embeddings = network(torch.rand(2, 3, metadata["image_size"], metadata["image_size"]))
    assert torch.allclose(embeddings.norm(dim=1), torch.ones(2), atol=1e-5)

    progress = read_progress(paths)
    assert progress["status"] == "completed"
    assert (progress["current_epoch"], progress["total_epochs"]) == (2, 2)
    assert (progress["datasets_found"], progress["datasets_processed"]) == (5, 5)
    assert progress["current_loss"] is not None and progress["best_loss"] <= progress["current_loss"]
    assert 0 <= progress["metrics"]["recall_at_1"] <= 1 and progress["images_per_second"] > 0
    assert 0 < len(progress["logs"]) <= 20
    assert datetime.fromisoformat(progress["updated_at"].replace("Z", "+00:00")).tzinfo is not None


def test_sigterm_mid_training_suspends_with_a_checkpoint_and_the_job_resumes(tmp_path):
    # Prepare: a job far longer than the test waits.
    paths = make_job(tmp_path, {"num_epochs": "50"})
    process = start_trainer(tmp_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if paths.progress.exists() and read_progress(paths)["current_epoch"] >= 1:
            break
        time.sleep(0.1)

    # Act
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)

    # Assess
    assert process.returncode == 143, output
    progress = read_progress(paths)
    assert progress["status"] == "suspended"
    assert "received SIGTERM" in progress["message"] and "resume_from_checkpoint=true" in progress["message"]
    assert paths.checkpoint.exists() and not paths.model_weights.exists()

    # Act again: resume for one more epoch than was checkpointed.
    completed_epochs = progress["current_epoch"]
    write_hyperparameters(
        paths,
        {**FAST_HYPERPARAMETERS, "num_epochs": str(completed_epochs + 1), "resume_from_checkpoint": "true"},
    )
    resumed = start_trainer(tmp_path)
    resumed_output, _ = resumed.communicate(timeout=120)

    # Assess again
    assert resumed.returncode == 0, resumed_output
    assert "resumed from" in resumed_output
    final = read_progress(paths)
    assert final["status"] == "completed" and final["current_epoch"] == completed_epochs + 1
    assert json.loads(paths.model_metadata.read_text())["epochs_run"] == completed_epochs + 1
