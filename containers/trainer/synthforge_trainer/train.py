"""The training run: inputs → model, with checkpoints, live progress, suspension and failure reports.

Outcomes and exit codes:
- completed (all epochs, or early stopping): model written, progress "completed", exit 0;
- suspended by `max_runtime_seconds`: checkpoint, progress "suspended", exit 0 (a planned stop);
- suspended by SIGTERM/SIGINT: checkpoint, progress "suspended", exit 128 + signal (143/130);
- failed: `<root>/output/failure` holds the reason, progress "failed", exit 1.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import time
import traceback
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch.utils.data import DataLoader

from . import __version__
from .checkpoint import TrainingState, load_checkpoint, restore_rng_state, save_checkpoint, training_state_from
from .config import RESUMABLE_OVERRIDES, InvalidHyperparametersError, TrainerConfig, load_hyperparameters
from .data import (
    NORMALIZE_MEAN,
    NORMALIZE_STD,
    CropDataset,
    Identity,
    PKBatchSampler,
    discover_identities,
    unpack_archives,
    plan_batch_shape,
    split_identities,
)
from .evaluate import embed_all, retrieval_metrics
from .losses import batch_hard_triplet_loss
from .model import EmbeddingNetwork, cached_imagenet_weights, load_imagenet_weights
from .paths import MLPaths
from .progress import ProgressReporter, RunLog, utc_now_iso, write_bytes_atomic, write_failure, write_json_atomic
from .schedules import EarlyStopping, next_epoch_fits, next_margin
from .stop import StopRequest

EXIT_OK = 0
EXIT_FAILED = 1
THREADS_ENV_VAR = "SYNTHFORGE_TORCH_THREADS"

try:
    import numpy
except ImportError:  # pragma: no cover - the Debian image ships numpy
    numpy = None  # type: ignore[assignment]


class TrainingFailure(Exception):
    """A problem with the job's inputs that the user has to fix; the message becomes FailureReason."""


@dataclass(frozen=True)
class RunOutcome:
    status: str  # "completed" | "suspended" | "failed"
    exit_code: int
    message: str


def run(
    paths: MLPaths,
    stop: Optional[StopRequest] = None,
    log: Optional[RunLog] = None,
    clock: Callable[[], float] = time.monotonic,
) -> RunOutcome:
    """Run one training job under `paths`. Never raises for a failed job: the outcome says how it
    ended and the failure file and progress.json say why."""
    log = log or RunLog()
    stop = stop or StopRequest()
    progress = ProgressReporter(paths.progress, log)
    # A reused local root may hold the failure of an earlier attempt; it must not outlive a retry.
    if paths.failure.exists():
        paths.failure.unlink()
    try:
        return _TrainingRun(paths, stop, log, progress, clock).execute()
    except (InvalidHyperparametersError, TrainingFailure) as error:
        return _fail(paths, progress, log, str(error))
    except Exception as error:  # noqa: BLE001 - any crash must still leave a FailureReason
        traceback.print_exc()
        return _fail(paths, progress, log, f"unexpected error: {type(error).__name__}: {error}")


def _fail(paths: MLPaths, progress: ProgressReporter, log: RunLog, reason: str) -> RunOutcome:
    log(f"training failed: {reason}")
    write_failure(paths.failure, reason)
    try:
        progress.update(status="failed", message=reason)
    except OSError as error:  # the failure file matters more than progress; keep it and go on
        log(f"could not write progress: {error}")
    return RunOutcome("failed", EXIT_FAILED, reason)


def _apply_thread_setting(log: RunLog) -> None:
    requested = os.environ.get(THREADS_ENV_VAR)
    if not requested:
        return
    try:
        threads = int(requested)
        if threads < 1:
            raise ValueError
    except ValueError:
        log(f"ignoring {THREADS_ENV_VAR}={requested!r}: not a positive integer")
        return
    torch.set_num_threads(threads)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    if numpy is not None:
        numpy.random.seed(seed % 2**32)


def _dataset_fingerprint(usable: List[Identity], train: List[Identity], held_out: List[Identity]) -> Dict[str, Any]:
    """What a resumed run must find again: the same identities, crop counts and split."""
    return {
        "identities": [[identity.name, len(identity.image_paths)] for identity in usable],
        "train": [identity.name for identity in train],
        "eval": [identity.name for identity in held_out],
    }


class _TrainingRun:
    """One execution of the trainer; `execute` is the whole job from hyperparameters to outcome."""

    def __init__(
        self, paths: MLPaths, stop: StopRequest, log: RunLog, progress: ProgressReporter, clock: Callable[[], float]
    ) -> None:
        self.paths = paths
        self.stop = stop
        self.log = log
        self.progress = progress
        self.clock = clock
        self.started = clock()

    # ---- the job -------------------------------------------------------------------------------

    def execute(self) -> RunOutcome:
        self.log(f"synthforge trainer {__version__}, torch {torch.__version__}, root {self.paths.root}")
        config = load_hyperparameters(self.paths.hyperparameters, self.log)
        self.config: TrainerConfig = config
        _apply_thread_setting(self.log)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.log(
            f"device {self.device}, {torch.get_num_threads()} CPU threads; backbone {config.backbone}, "
            f"embedding_dim {config.embedding_dim}, CBAM after {list(config.cbam_layers) or 'no stage'}"
        )

        train_ids, eval_ids = self._prepare_data()
        self._build_model()
        self._build_loaders(train_ids, eval_ids)
        state = self.state
        fresh_start = state.epochs_completed == 0 and state.batches_done == 0
        # On resume the figures carry on from the checkpoint instead of starting blank.
        self.progress.update(
            status="running",
            current_epoch=state.epochs_completed,
            current_loss=state.loss_history[-1] if state.loss_history else None,
            best_loss=state.best_loss,
            metrics=state.last_metrics,
            message="training started" if fresh_start else "training resumed",
        )
        return self._train()

    def _prepare_data(self) -> Tuple[List[Identity], List[Identity]]:
        config = self.config
        try:
            # Unpacked onto the training volume, fresh each attempt: /tmp may be small on an instance.
            unpacked = self.paths.root / "work" / "crops"
            shutil.rmtree(unpacked, ignore_errors=True)
            found = discover_identities(unpack_archives(self.paths.train_data, unpacked))
        except FileNotFoundError as error:
            raise TrainingFailure(str(error)) from None
        except zipfile.BadZipFile as error:
            raise TrainingFailure(f"a dataset archive is not a readable ZIP: {error}") from None
        if config.max_images_per_identity is not None:
            found = [
                Identity(identity.name, identity.image_paths[: config.max_images_per_identity]) for identity in found
            ]
        usable = [identity for identity in found if len(identity.image_paths) >= config.min_images_per_player]
        dropped = len(found) - len(usable)
        self.log(
            f"found {len(found)} identity folders; dropped {dropped} with fewer than "
            f"{config.min_images_per_player} images; {len(usable)} usable"
        )
        # Not written yet: the first progress.json must carry the checkpoint's epoch when resuming,
        # so that a watcher never sees the epoch count go back to 0. A failure writes these counts.
        self.progress.set(total_epochs=config.num_epochs, datasets_found=len(found), datasets_processed=len(usable))
        if len(usable) < 2:
            raise TrainingFailure(
                f"need at least 2 identities with {config.min_images_per_player} or more images in "
                f"{self.paths.train_data}, found {len(usable)} (of {len(found)} identity folders); "
                f"expected one folder per identity holding its .png/.jpg crops"
            )
        train_ids, eval_ids = split_identities(usable, config.eval_fraction, config.seed)
        if eval_ids:
            self.log(f"split: {len(train_ids)} identities for training, {len(eval_ids)} held out for evaluation")
        elif config.eval_fraction > 0:
            self.log(f"split: all {len(train_ids)} identities for training (too few to hold any out); metrics skipped")
        else:
            self.log(f"split: all {len(train_ids)} identities for training (eval_fraction is 0); metrics skipped")
        self.dataset_fingerprint = _dataset_fingerprint(usable, train_ids, eval_ids)
        return train_ids, eval_ids

    def _build_model(self) -> None:
        config = self.config
        _seed_everything(config.seed)
        self.network = EmbeddingNetwork(config.backbone, config.embedding_dim, config.dropout_rate, config.cbam_layers)
        payload = self._checkpoint_to_resume()
        pretrained: Optional[str] = None
        if payload is None:
            pretrained = self._initialise_backbone()
        self.network.to(self.device)
        self.optimizer = torch.optim.AdamW(
            self.network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer,
            mode="min",
            factor=config.lr_scheduler_factor,
            patience=config.lr_scheduler_patience,
            min_lr=config.lr_scheduler_min_lr,
        )
        # A dedicated generator for the DataLoader: its per-iteration seed draw would otherwise
        # consume the global stream that dropout uses, and a resumed run would drift.
        self.loader_generator = torch.Generator().manual_seed(config.seed)
        self.state = TrainingState(margin=config.margin, pretrained_weights=pretrained)
        if payload is not None:
            self._restore(payload)
        self.early_stopping = EarlyStopping(
            config.early_stopping_patience, self.state.best_loss, self.state.epochs_without_improvement
        )

    def _checkpoint_to_resume(self) -> Optional[Dict[str, Any]]:
        checkpoint = self.paths.checkpoint
        if not self.config.resume_from_checkpoint:
            if checkpoint.exists():
                self.log(f"ignoring existing checkpoint {checkpoint}: resume_from_checkpoint is false; it will be overwritten")
            return None
        if not checkpoint.exists():
            self.log(f"resume_from_checkpoint is true but there is no checkpoint at {checkpoint}; starting from scratch")
            return None
        try:
            return load_checkpoint(checkpoint, torch.device("cpu"))
        except Exception as error:  # noqa: BLE001 - any unreadable checkpoint gets the same advice
            raise TrainingFailure(
                f"cannot read checkpoint {checkpoint}: {error}; delete it or set resume_from_checkpoint to false"
            ) from None

    def _initialise_backbone(self) -> Optional[str]:
        """ImageNet weights when they are in the torch hub cache, random initialisation otherwise.

        `force_pretraining` makes missing weights a failure: the user asked for them explicitly,
        and a silently random-initialised model would train far worse than they expect.
        """
        config = self.config
        cache_dir = os.path.join(torch.hub.get_dir(), "checkpoints")
        weights_path = cached_imagenet_weights(config.backbone)
        if weights_path is None:
            if config.force_pretraining:
                raise TrainingFailure(
                    f"force_pretraining is true but no ImageNet weights for {config.backbone} are in the torch hub "
                    f"cache ({cache_dir}); build the image with PREFETCH_IMAGENET_WEIGHTS={config.backbone} or set "
                    f"force_pretraining to false to train from random initialisation"
                )
            self.log(
                f"no ImageNet weights for {config.backbone} in the torch hub cache ({cache_dir}); "
                f"training from random initialisation"
            )
            return None
        try:
            load_imagenet_weights(self.network, weights_path)
        except Exception as error:  # noqa: BLE001 - a corrupt cache file is not the user's input
            if config.force_pretraining:
                raise TrainingFailure(f"force_pretraining is true but {weights_path} could not be loaded: {error}") from None
            self.log(f"could not load ImageNet weights from {weights_path} ({error}); training from random initialisation")
            # A failed strict load may have copied some tensors already: rebuild from the seed.
            _seed_everything(config.seed)
            self.network = EmbeddingNetwork(config.backbone, config.embedding_dim, config.dropout_rate, config.cbam_layers)
            return None
        self.log(f"loaded ImageNet weights for {config.backbone} from {weights_path}")
        return str(weights_path.name)

    def _restore(self, payload: Dict[str, Any]) -> None:
        current = self.config.to_json_dict()
        saved = payload["config"]
        mismatches = [
            f"{key}={saved.get(key)!r} in the checkpoint but {current[key]!r} now"
            for key in sorted(current)
            if key not in RESUMABLE_OVERRIDES and saved.get(key) != current[key]
        ]
        if mismatches:
            raise TrainingFailure(
                "cannot resume: the checkpoint was made with different hyperparameters ("
                + "; ".join(mismatches)
                + "); use the same values or set resume_from_checkpoint to false"
            )
        if payload["dataset"] != self.dataset_fingerprint:
            raise TrainingFailure(
                "cannot resume: the training data differs from the checkpointed run's (identities, crop counts "
                "or split); restore the same data or set resume_from_checkpoint to false"
            )
        self.network.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.state = training_state_from(payload)
        restore_rng_state(payload["rng"])
        self.loader_generator.set_state(payload["dataloader_generator"])
        where = f"after epoch {self.state.epochs_completed}"
        if self.state.batches_done:
            where += f" and {self.state.batches_done} batches of epoch {self.state.epochs_completed + 1}"
        self.log(f"resumed from {self.paths.checkpoint} {where}; margin {self.state.margin:.4f}")

    def _build_loaders(self, train_ids: List[Identity], eval_ids: List[Identity]) -> None:
        config = self.config
        train_set = CropDataset(train_ids, config.image_size)
        players, crops = plan_batch_shape(config.batch_size, train_ids)
        self.sampler = PKBatchSampler(train_set.indices_by_label, players, crops, config.seed)
        self.log(
            f"batches of {players} identities x {crops} crops = {players * crops} images "
            f"(batch_size {config.batch_size}); {self.sampler.batches_per_epoch} batches per epoch"
        )
        loader_options: Dict[str, Any] = {
            "num_workers": config.num_workers,
            "pin_memory": self.device.type == "cuda",
        }
        if config.num_workers > 0:
            # prefetch_factor is only valid with workers (torch 1.13 rejects it otherwise); persistent
            # workers avoid re-forking every epoch, which costs seconds on small epochs.
            loader_options.update(prefetch_factor=config.prefetch_factor, persistent_workers=True)
        self.train_loader = DataLoader(
            train_set, batch_sampler=self.sampler, generator=self.loader_generator, **loader_options
        )
        self.eval_loader: Optional[DataLoader] = None
        if eval_ids:
            # Its own generator too, so evaluating never draws from the stream training depends on.
            self.eval_loader = DataLoader(
                CropDataset(eval_ids, config.image_size),
                batch_size=config.batch_size,
                shuffle=False,
                generator=torch.Generator().manual_seed(config.seed),
                **loader_options,
            )

    # ---- the loop ------------------------------------------------------------------------------

    def _train(self) -> RunOutcome:
        config, state = self.config, self.state
        epochs_run_here = 0
        if self.early_stopping.patience and state.epochs_without_improvement >= self.early_stopping.patience:
            self.log("the checkpointed run had already met its early-stopping condition")
            state.stopped_early = True
            return self._complete()
        while state.epochs_completed < config.num_epochs:
            epoch = state.epochs_completed + 1
            if self.stop.requested:
                return self._suspend(f"received {self.stop.signal_name}", self.stop.exit_code)
            elapsed = self.clock() - self.started
            if epochs_run_here > 0 and not next_epoch_fits(elapsed, state.epoch_seconds, config.max_runtime_seconds):
                return self._suspend(
                    f"epoch {epoch} would not finish within max_runtime_seconds={config.max_runtime_seconds}", EXIT_OK
                )
            interrupted = self._train_one_epoch(epoch)
            if interrupted is not None:
                return interrupted
            epochs_run_here += 1
            if state.stopped_early:
                break
        return self._complete()

    def _train_one_epoch(self, epoch: int) -> Optional[RunOutcome]:
        """Train, evaluate and checkpoint one epoch; a RunOutcome when the run is suspended inside it."""
        config, state = self.config, self.state
        epoch_started = self.clock()
        learning_rate = self.optimizer.param_groups[0]["lr"]
        self.sampler.set_epoch(epoch - 1, state.batches_done)
        self.network.train()
        images_seen = 0
        for images, labels in self.train_loader:
            images = images.to(self.device, non_blocking=True)
            labels = labels.to(self.device, non_blocking=True)
            self.optimizer.zero_grad(set_to_none=True)
            loss = batch_hard_triplet_loss(self.network(images), labels, state.margin)
            loss.backward()
            self.optimizer.step()
            batch_loss = loss.item()
            state.epoch_loss_sum += batch_loss
            state.epoch_loss_batches += 1
            state.batches_done += 1
            images_seen += len(labels)
            if config.verbose:
                self.log(f"epoch {epoch} batch {state.batches_done}/{self.sampler.batches_per_epoch} loss={batch_loss:.4f}")
            # Only between batches: a half-applied optimizer step cannot be checkpointed.
            if self.stop.requested:
                return self._suspend(f"received {self.stop.signal_name}", self.stop.exit_code)
            if config.max_runtime_seconds is not None and self.clock() - self.started >= config.max_runtime_seconds:
                return self._suspend(f"reached max_runtime_seconds={config.max_runtime_seconds}", EXIT_OK)
        train_seconds = self.clock() - epoch_started
        images_per_second = images_seen / train_seconds if images_seen and train_seconds > 0 else None

        epoch_loss = state.epoch_loss_sum / max(1, state.epoch_loss_batches)
        metrics = None
        if self.eval_loader is not None:
            metrics = retrieval_metrics(*embed_all(self.network, self.eval_loader, self.device))
        self.scheduler.step(epoch_loss)
        margin_used = state.margin
        state.margin = next_margin(
            state.margin, state.previous_epoch_loss, epoch_loss, config.margin_decay_rate, config.margin_change_threshold
        )
        should_stop = self.early_stopping.update(epoch_loss)
        state.best_loss = self.early_stopping.best_loss
        state.epochs_without_improvement = self.early_stopping.epochs_without_improvement
        if state.epochs_without_improvement == 0:
            # A new best. Its weights wait beside the checkpoint (written first, so a checkpoint never
            # names a best epoch whose weights are missing) for the model, should later epochs do worse.
            state.best_epoch = epoch
            self._write_weights(self.paths.best_weights)
        state.previous_epoch_loss = epoch_loss
        state.loss_history.append(epoch_loss)
        state.last_metrics = metrics
        state.epochs_completed = epoch
        state.batches_done, state.epoch_loss_sum, state.epoch_loss_batches = 0, 0.0, 0
        state.stopped_early = should_stop and epoch < config.num_epochs
        state.epoch_seconds.append(self.clock() - epoch_started)
        self._save_checkpoint()
        if config.save_intermediate:
            # With the checkpoints, not in the model: model.tar.gz would grow by the weights of every epoch.
            self._write_weights(self.paths.epoch_weights(epoch))

        line = f"epoch {epoch}/{config.num_epochs} loss={epoch_loss:.4f} best={state.best_loss:.4f} margin={margin_used:.3f}"
        if metrics is not None:
            line += f" recall@1={metrics['recall_at_1']:.2f} mAP={metrics['mean_average_precision']:.2f}"
        line += f" lr={learning_rate:.3g}"
        if images_per_second is not None:
            line += f" images/s={images_per_second:.1f}"
        self.log(line)
        if state.stopped_early:
            self.log(
                f"early stopping: no loss improvement for {state.epochs_without_improvement} epochs "
                f"(early_stopping_patience={config.early_stopping_patience})"
            )
        self.progress.update(
            status="running",
            current_epoch=epoch,
            current_loss=epoch_loss,
            best_loss=state.best_loss,
            metrics=metrics,
            images_per_second=images_per_second,
            message=f"epoch {epoch}/{config.num_epochs} done",
        )
        return None

    # ---- endings -------------------------------------------------------------------------------

    def _save_checkpoint(self) -> None:
        save_checkpoint(
            self.paths.checkpoint,
            self.network,
            self.optimizer,
            self.scheduler,
            self.state,
            self.config.to_json_dict(),
            self.dataset_fingerprint,
            self.loader_generator,
        )

    def _suspend(self, reason: str, exit_code: int) -> RunOutcome:
        self._save_checkpoint()
        state = self.state
        where = f"after epoch {state.epochs_completed}/{self.config.num_epochs}"
        if state.batches_done:
            where += f" and {state.batches_done}/{self.sampler.batches_per_epoch} batches of epoch {state.epochs_completed + 1}"
        message = f"suspended {where} ({reason}); checkpoint saved, run again with resume_from_checkpoint=true to continue"
        self.log(message)
        self.progress.update(status="suspended", current_epoch=state.epochs_completed, message=message)
        return RunOutcome("suspended", exit_code, message)

    def _write_weights(self, path: Path) -> None:
        weights = {key: value.detach().cpu() for key, value in self.network.state_dict().items()}
        buffer = io.BytesIO()
        torch.save(weights, buffer)
        write_bytes_atomic(path, buffer.getvalue())

    def _keep_best_weights(self) -> Optional[str]:
        """The model's best weights: model.pt when the last epoch had the lowest loss, else that
        epoch's weights as model_best.pt (None when unknown: a checkpoint from an older trainer)."""
        state, paths = self.state, self.paths
        if state.best_epoch is None:
            return None
        if state.best_epoch == state.epochs_completed:
            return paths.model_weights.name
        if not paths.best_weights.exists():
            self.log(f"the weights of epoch {state.best_epoch} (the lowest loss) are missing from {paths.best_weights}")
            return None
        shutil.copyfile(paths.best_weights, paths.model_best_weights)
        return paths.model_best_weights.name

    def _complete(self) -> RunOutcome:
        config, state = self.config, self.state
        self._write_weights(self.paths.model_weights)
        best_weights = self._keep_best_weights()
        final_loss = state.loss_history[-1] if state.loss_history else None
        write_json_atomic(
            self.paths.model_metadata,
            {
                "format_version": 1,
                "architecture": "torchvision ResNet -> CBAM after attention stages -> global average pool -> "
                "dropout -> linear -> L2-normalised embedding",
                "backbone": config.backbone,
                "embedding_dim": config.embedding_dim,
                "image_size": config.image_size,
                "attention_layers": list(config.cbam_layers),
                "normalization": {"mean": list(NORMALIZE_MEAN), "std": list(NORMALIZE_STD)},
                "pretrained_weights": state.pretrained_weights is not None,
                "pretrained_weights_file": state.pretrained_weights,
                "hyperparameters": config.to_json_dict(),
                "epochs_run": state.epochs_completed,
                "stopped_early": state.stopped_early,
                "final_loss": final_loss,
                "best_loss": state.best_loss,
                "best_epoch": state.best_epoch,
                "best_weights": best_weights,
                "final_margin": state.margin,
                "loss_history": state.loss_history,
                "metrics": state.last_metrics,
                "identities": {
                    "train": len(self.dataset_fingerprint["train"]),
                    "eval": len(self.dataset_fingerprint["eval"]),
                },
                "trainer_version": __version__,
                "torch_version": torch.__version__,
                "created_at": utc_now_iso(),
            },
        )
        reason = "early stopping" if state.stopped_early else "all epochs"
        message = f"completed {state.epochs_completed}/{config.num_epochs} epochs ({reason}); model written to {self.paths.model_dir}"
        self.log(message)
        self.progress.update(
            status="completed",
            current_epoch=state.epochs_completed,
            current_loss=final_loss,
            best_loss=state.best_loss,
            metrics=state.last_metrics,
            message=message,
        )
        return RunOutcome("completed", EXIT_OK, message)
