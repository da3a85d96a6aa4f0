"""What model.tar.gz is made of: SageMaker uploads /opt/ml/model, so that folder holds the final
weights, the lowest-loss epoch's weights when they differ, and model.json; nothing else. Each epoch's
weights (`save_intermediate`) and the checkpoint stay in /opt/ml/checkpoints."""

import json

import torch

from support import make_job, quiet_log
from synthforge_trainer import train as train_module
from synthforge_trainer.train import run


def losses_by_epoch(monkeypatch, losses, batches_per_epoch=2):
    """Makes epoch e's loss `losses[e - 1]` (a constant that still back-propagates: weight decay moves
    the weights every step, so each epoch's weights differ)."""
    calls = {"n": 0}

    def loss(embeddings, labels, margin):
        epoch = calls["n"] // batches_per_epoch
        calls["n"] += 1
        return embeddings.sum() * 0 + losses[epoch]

    monkeypatch.setattr(train_module, "batch_hard_triplet_loss", loss)


def same_weights(a, b):
    first, second = torch.load(a), torch.load(b)
    return first.keys() == second.keys() and all(torch.equal(first[key], second[key]) for key in first)


def test_the_model_holds_the_final_and_the_best_weights_and_the_epochs_stay_with_the_checkpoints(tmp_path, monkeypatch):
    # Prepare: epoch 2 has the lowest loss, epoch 3 does worse; every epoch's weights are kept.
    losses_by_epoch(monkeypatch, [1.0, 0.5, 0.9])
    paths = make_job(
        tmp_path, {"num_epochs": "3", "save_intermediate": "true", "early_stopping_patience": "0", "weight_decay": "0.1"}
    )

    # Act
    outcome = run(paths, log=quiet_log())

    # Assess
    assert outcome.status == "completed"
    assert sorted(path.name for path in paths.model_dir.iterdir()) == ["model.json", "model.pt", "model_best.pt"]
    assert same_weights(paths.model_weights, paths.epoch_weights(3))
    assert same_weights(paths.model_best_weights, paths.epoch_weights(2))
    assert not same_weights(paths.model_best_weights, paths.model_weights)
    metadata = json.loads(paths.model_metadata.read_text())
    assert (metadata["best_epoch"], metadata["best_weights"], metadata["best_loss"]) == (2, "model_best.pt", 0.5)
    kept = sorted(str(path.relative_to(paths.checkpoints_dir)) for path in paths.checkpoints_dir.rglob("*.*"))
    assert kept == [
        "best.pt",
        "checkpoint.pt",
        "epochs/epoch_001.pt",
        "epochs/epoch_002.pt",
        "epochs/epoch_003.pt",
        "progress.json",
    ]


def test_a_run_whose_last_epoch_is_its_best_ships_one_set_of_weights(tmp_path, monkeypatch):
    # Prepare: the loss falls every epoch; the default save_intermediate (false).
    losses_by_epoch(monkeypatch, [1.0, 0.9])
    paths = make_job(tmp_path, {"num_epochs": "2"})

    # Act
    outcome = run(paths, log=quiet_log())

    # Assess
    assert outcome.status == "completed"
    assert sorted(path.name for path in paths.model_dir.iterdir()) == ["model.json", "model.pt"]
    metadata = json.loads(paths.model_metadata.read_text())
    assert (metadata["best_epoch"], metadata["best_weights"]) == (2, "model.pt")
    assert not (paths.checkpoints_dir / "epochs").exists()


def test_the_best_weights_survive_a_resume(tmp_path, monkeypatch):
    # Prepare: a first run of 1 epoch sets the best loss; resumed to 3 epochs, it never does better.
    losses_by_epoch(monkeypatch, [0.5])
    paths = make_job(tmp_path, {"num_epochs": "1", "early_stopping_patience": "0", "weight_decay": "0.1"})
    assert run(paths, log=quiet_log()).status == "completed"
    weights_of_epoch_1 = paths.best_weights.read_bytes()

    # Act
    hyperparameters = json.loads(paths.hyperparameters.read_text())
    hyperparameters.update(num_epochs="3", resume_from_checkpoint="true")
    paths.hyperparameters.write_text(json.dumps(hyperparameters))
    losses_by_epoch(monkeypatch, [0.9, 0.8])
    outcome = run(paths, log=quiet_log())

    # Assess
    assert outcome.status == "completed", outcome.message
    assert paths.model_best_weights.read_bytes() == weights_of_epoch_1
    metadata = json.loads(paths.model_metadata.read_text())
    assert (metadata["epochs_run"], metadata["best_epoch"], metadata["best_loss"]) == (3, 1, 0.5)
