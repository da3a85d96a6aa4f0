"""In-process runs: early stopping, max_runtime_seconds suspension."""

import json

from support import make_job, quiet_log, read_progress
from synthforge_trainer import train as train_module
from synthforge_trainer.train import run


def test_early_stopping_ends_the_run_after_patience_epochs_on_a_flat_loss(tmp_path, monkeypatch):
    # Prepare: a loss that is always 1.0, so epoch 1 sets the best and epoch 2 does not beat it.
    monkeypatch.setattr(
        train_module, "batch_hard_triplet_loss", lambda embeddings, labels, margin: embeddings.sum() * 0 + 1.0
    )
    paths = make_job(tmp_path, {"num_epochs": "10", "early_stopping_patience": "1", "margin_decay_rate": "0.5"})

    # Act
    outcome = run(paths, log=quiet_log())

    # Assess
    assert outcome.status == "completed" and outcome.exit_code == 0
    metadata = json.loads(paths.model_metadata.read_text())
    assert (metadata["epochs_run"], metadata["stopped_early"]) == (2, True)
    # A flat loss is a plateau: the margin halves after epoch 2 (epoch 1 has nothing to compare with).
    assert metadata["final_margin"] == 0.4 * 0.5
    progress = read_progress(paths)
    assert progress["status"] == "completed" and "early stopping" in progress["message"]
    assert progress["current_epoch"] == 2 and progress["total_epochs"] == 10


def test_max_runtime_seconds_suspends_with_a_checkpoint_and_exit_code_0(tmp_path):
    # Prepare: far more epochs than fit in one second.
    paths = make_job(tmp_path, {"num_epochs": "1000", "max_runtime_seconds": "1"})

    # Act
    outcome = run(paths, log=quiet_log())

    # Assess
    assert (outcome.status, outcome.exit_code) == ("suspended", 0)
    progress = read_progress(paths)
    assert progress["status"] == "suspended"
    assert "max_runtime_seconds=1" in progress["message"]
    assert "resume_from_checkpoint=true" in progress["message"]
    assert paths.checkpoint.exists() and not paths.model_weights.exists()
