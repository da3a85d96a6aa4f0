"""Bad inputs end the job with exit code 1 and a FailureReason in <root>/output/failure."""

import json
import shutil

import pytest
import torch
from torchvision import models

from support import make_job, quiet_log, read_progress
from synthforge_trainer.__main__ import main
from synthforge_trainer.paths import ROOT_ENV_VAR
from synthforge_trainer.stop import StopRequest
from synthforge_trainer.train import run


@pytest.mark.parametrize(
    "overrides, reason_fragment",
    [
        ({"learning_rate": "-0.01"}, "hyperparameter 'learning_rate' must be in (0, 1], got \"-0.01\""),
        ({"attention_layers": '["layer1","layer9"]'}, "unknown ResNet stage(s) layer9"),
    ],
)
def test_a_bad_hyperparameter_writes_the_failure_file_and_exits_1(tmp_path, monkeypatch, capsys, overrides, reason_fragment):
    # Prepare
    paths = make_job(tmp_path, overrides, identities=2, crops=2)
    monkeypatch.setenv(ROOT_ENV_VAR, str(tmp_path))

    # Act
    exit_code = main([])

    # Assess
    assert exit_code == 1
    assert reason_fragment in paths.failure.read_text()
    progress = read_progress(paths)
    assert progress["status"] == "failed" and reason_fragment in progress["message"]
    assert not paths.model_weights.exists()


def test_too_few_usable_identities_fails_with_the_counts(tmp_path):
    # Prepare: 3 identity folders of 2 crops, but 3 crops required per identity.
    paths = make_job(tmp_path, {"min_images_per_player": "3"}, identities=3, crops=2)

    # Act
    outcome = run(paths, log=quiet_log())

    # Assess
    assert outcome.exit_code == 1
    assert "need at least 2 identities with 3 or more images" in paths.failure.read_text()
    progress = read_progress(paths)
    assert (progress["datasets_found"], progress["datasets_processed"]) == (3, 0)


def test_missing_training_channel_fails_clearly(tmp_path):
    # Prepare: hyperparameters but no input/data/train.
    paths = make_job(tmp_path / "job")
    shutil.rmtree(paths.train_data)

    # Act
    outcome = run(paths, log=quiet_log())

    # Assess
    assert outcome.exit_code == 1
    assert f"no training data at {paths.train_data}" in paths.failure.read_text()


def test_force_pretraining_without_cached_imagenet_weights_fails(tmp_path, monkeypatch):
    # Prepare: an empty torch hub cache.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    paths = make_job(tmp_path / "job", {"force_pretraining": "true"})

    # Act
    outcome = run(paths, log=quiet_log())

    # Assess
    assert outcome.exit_code == 1
    assert "force_pretraining is true but no ImageNet weights for resnet18" in paths.failure.read_text()


def test_cached_imagenet_weights_are_used_and_recorded_in_model_json(tmp_path, monkeypatch):
    # Prepare: put a (random) resnet18 state dict where torchvision's download would have put it.
    torch_home = tmp_path / "torch-home"
    cache = torch_home / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(models.resnet18(weights=None).state_dict(), cache / "resnet18-f37072fd.pth")
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    paths = make_job(tmp_path / "job", {"force_pretraining": "true", "num_epochs": "1"})
    log = quiet_log()

    # Act
    outcome = run(paths, log=log)

    # Assess
    assert outcome.status == "completed", outcome.message
    metadata = json.loads(paths.model_metadata.read_text())
    assert metadata["pretrained_weights"] is True
    assert metadata["pretrained_weights_file"] == "resnet18-f37072fd.pth"
    assert any(line.startswith("loaded ImageNet weights for resnet18") for line in log.recent)


def test_a_stale_failure_file_from_an_earlier_attempt_is_removed(tmp_path):
    # Prepare: a failure file left by an earlier attempt, and a run that is stopped before its
    # first batch (the quickest way through a run that does not fail).
    paths = make_job(tmp_path)
    paths.failure.parent.mkdir(parents=True)
    paths.failure.write_text("old failure")
    stop = StopRequest()
    stop.request(15)

    # Act
    outcome = run(paths, stop=stop, log=quiet_log())

    # Assess
    assert outcome.status == "suspended"
    assert not paths.failure.exists()
