"""A checkpoint followed by a resume continues exactly as if the run had never stopped (CPU)."""

import io
from typing import Any, Dict

import pytest
import torch

from support import FAST_HYPERPARAMETERS, make_job, quiet_log, write_hyperparameters
from synthforge_trainer.checkpoint import TrainingState, load_checkpoint, save_checkpoint, training_state_from
from synthforge_trainer.losses import batch_hard_triplet_loss
from synthforge_trainer.model import EmbeddingNetwork
from synthforge_trainer.progress import RunLog
from synthforge_trainer.stop import StopRequest
from synthforge_trainer.train import run

# margin_change_threshold 1.0 makes every epoch after the first a "plateau", so the margin decays
# and the resumed run has to carry it over.
RESUME_HYPERPARAMETERS = {"num_epochs": "2", "margin_change_threshold": "1.0", "margin_decay_rate": "0.9"}


def assert_same_state(expected: Any, actual: Any, where: str = "state") -> None:
    """Recursive exact equality for nested dicts/lists of tensors and numbers."""
    if isinstance(expected, torch.Tensor):
        assert torch.equal(expected, actual), f"{where} differs"
    elif isinstance(expected, dict):
        assert expected.keys() == actual.keys(), f"{where} keys differ"
        for key in expected:
            assert_same_state(expected[key], actual[key], f"{where}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert len(expected) == len(actual), f"{where} lengths differ"
        for index, (left, right) in enumerate(zip(expected, actual)):
            assert_same_state(left, right, f"{where}[{index}]")
    else:
        assert expected == actual, f"{where}: {expected!r} != {actual!r}"


def training_outcome(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """What must match between an uninterrupted and a resumed run (timings excluded)."""
    state = checkpoint["state"]
    return {
        "model": checkpoint["model"],
        "optimizer": checkpoint["optimizer"],
        "scheduler": checkpoint["scheduler"],
        "rng": checkpoint["rng"]["torch"],
        "epochs_completed": state["epochs_completed"],
        "margin": state["margin"],
        "best_loss": state["best_loss"],
        "loss_history": state["loss_history"],
        "last_metrics": state["last_metrics"],
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Two epochs in one go: the reference the resumed runs must reproduce bit for bit."""
    paths = make_job(tmp_path_factory.mktemp("uninterrupted"), RESUME_HYPERPARAMETERS)
    outcome = run(paths, log=quiet_log())
    assert outcome.status == "completed", outcome.message
    return training_outcome(load_checkpoint(paths.checkpoint, torch.device("cpu")))


def test_save_then_load_restores_identical_model_optimizer_scheduler_and_counters(tmp_path):
    # Prepare: one real optimisation step so the optimizer has moments to save.
    torch.manual_seed(0)
    network = EmbeddingNetwork("resnet18", 8, 0.2, ("layer1",))
    optimizer = torch.optim.AdamW(network.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0)
    loss = batch_hard_triplet_loss(network(torch.rand(4, 3, 32, 32)), torch.tensor([0, 0, 1, 1]), 0.4)
    loss.backward()
    optimizer.step()
    scheduler.step(1.0), scheduler.step(2.0)  # one reduction, so the schedule has history
    state = TrainingState(epochs_completed=4, batches_done=1, epoch_loss_sum=0.7, epoch_loss_batches=1, margin=0.324)
    generator = torch.Generator().manual_seed(3)
    save_checkpoint(tmp_path / "c.pt", network, optimizer, scheduler, state, {"k": 1}, {"d": 2}, generator)
    rng_after_save = torch.get_rng_state()

    # Act
    payload = load_checkpoint(tmp_path / "c.pt", torch.device("cpu"))
    fresh = EmbeddingNetwork("resnet18", 8, 0.2, ("layer1",))
    fresh_optimizer = torch.optim.AdamW(fresh.parameters(), lr=0.01)
    fresh_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(fresh_optimizer, patience=0)
    fresh.load_state_dict(payload["model"])
    fresh_optimizer.load_state_dict(payload["optimizer"])
    fresh_scheduler.load_state_dict(payload["scheduler"])

    # Assess
    assert_same_state(network.state_dict(), fresh.state_dict(), "model")
    assert_same_state(optimizer.state_dict(), fresh_optimizer.state_dict(), "optimizer")
    assert fresh_optimizer.param_groups[0]["lr"] == pytest.approx(0.001)
    assert_same_state(scheduler.state_dict(), fresh_scheduler.state_dict(), "scheduler")
    assert training_state_from(payload) == state
    assert torch.equal(payload["rng"]["torch"], rng_after_save)


def test_resume_at_an_epoch_boundary_reproduces_the_uninterrupted_run(tmp_path, uninterrupted):
    # Prepare: the same job, stopped after epoch 1 (num_epochs 1 ends it there).
    paths = make_job(tmp_path, {**RESUME_HYPERPARAMETERS, "num_epochs": "1"})
    assert run(paths, log=quiet_log()).status == "completed"

    # Act: resume with the full epoch count.
    write_hyperparameters(paths, {**FAST_HYPERPARAMETERS, **RESUME_HYPERPARAMETERS, "resume_from_checkpoint": "true"})
    outcome = run(paths, log=quiet_log())

    # Assess
    assert outcome.status == "completed", outcome.message
    resumed = training_outcome(load_checkpoint(paths.checkpoint, torch.device("cpu")))
    assert_same_state(uninterrupted, resumed)
    assert resumed["margin"] == pytest.approx(0.4 * 0.9), "decayed after epoch 2, in the resumed run"


class StopAtBatch(RunLog):
    """Raises a stop request, as SIGTERM would, when the verbose log reports a given batch."""

    def __init__(self, stop: StopRequest, batch_line_prefix: str) -> None:
        super().__init__(stream=io.StringIO())
        self._stop, self._prefix = stop, batch_line_prefix

    def __call__(self, line: str) -> None:
        super().__call__(line)
        if line.startswith(self._prefix):
            self._stop.request(15)


def test_resume_in_the_middle_of_an_epoch_reproduces_the_uninterrupted_run(tmp_path, uninterrupted):
    # Prepare: stop after the first of the two batches of epoch 2.
    paths = make_job(tmp_path, {**RESUME_HYPERPARAMETERS, "verbose": "true"})
    stop = StopRequest()
    suspended = run(paths, stop=stop, log=StopAtBatch(stop, "epoch 2 batch 1/2"))
    assert (suspended.status, suspended.exit_code) == ("suspended", 143)
    assert load_checkpoint(paths.checkpoint, torch.device("cpu"))["state"]["batches_done"] == 1

    # Act
    write_hyperparameters(paths, {**FAST_HYPERPARAMETERS, **RESUME_HYPERPARAMETERS, "resume_from_checkpoint": "true"})
    outcome = run(paths, log=quiet_log())

    # Assess
    assert outcome.status == "completed", outcome.message
    assert_same_state(uninterrupted, training_outcome(load_checkpoint(paths.checkpoint, torch.device("cpu"))))


def test_resume_refuses_a_checkpoint_made_with_different_model_hyperparameters(tmp_path):
    # Prepare
    paths = make_job(tmp_path, {"num_epochs": "1"})
    assert run(paths, log=quiet_log()).status == "completed"
    write_hyperparameters(paths, {**FAST_HYPERPARAMETERS, "embedding_dim": "16", "resume_from_checkpoint": "true"})

    # Act
    outcome = run(paths, log=quiet_log())

    # Assess
    assert (outcome.status, outcome.exit_code) == ("failed", 1)
    assert "embedding_dim=32 in the checkpoint but 16 now" in paths.failure.read_text()
