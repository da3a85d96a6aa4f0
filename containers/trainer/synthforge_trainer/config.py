"""Hyperparameters: parsing SageMaker's hyperparameters.json into a typed, validated config.

SageMaker writes every hyperparameter value as a JSON *string* (`"num_epochs": "10"`,
`"use_cbam": "true"`, `"attention_layers": "[\"layer1\"]"`), while a local run may pass native
JSON values. Both forms are accepted, so the platform can hand over the same dictionary either way.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

RESNET_STAGES: Tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4")
BACKBONES: Tuple[str, ...] = ("resnet18", "resnet34", "resnet50")

# The seed API's default `num_workers` is 8; a 2-core machine gains nothing from more workers than
# cores and pays their start-up time, so the default is capped at the CPU count.
DEFAULT_NUM_WORKERS = min(8, os.cpu_count() or 1)


class InvalidHyperparametersError(ValueError):
    """One or more hyperparameters have a wrong type or are out of range.

    The message names every offending key, its value and the constraint, because it becomes the
    training job's FailureReason and is often the only thing a user sees.
    """


@dataclass(frozen=True)
class TrainerConfig:
    """Validated hyperparameters. Field names are the flat union of seed 002's `training_kwargs`
    and `model_kwargs`, plus the trainer's own keys (`seed`, `image_size`, ...)."""

    # training_kwargs (seed 002); defaults are the seed's example request.
    num_epochs: int = 50
    batch_size: int = 64
    learning_rate: float = 0.001
    early_stopping_patience: int = 10
    min_images_per_player: int = 2
    margin: float = 0.4
    weight_decay: float = 0.0001
    margin_decay_rate: float = 0.99
    margin_change_threshold: float = 0.01
    lr_scheduler_patience: int = 3
    lr_scheduler_factor: float = 0.5
    lr_scheduler_min_lr: float = 1e-7
    num_workers: int = DEFAULT_NUM_WORKERS
    prefetch_factor: int = 2
    force_pretraining: bool = False
    # model_kwargs (seed 002).
    embedding_dim: int = 512
    dropout_rate: float = 0.2
    use_cbam: bool = True
    attention_layers: Tuple[str, ...] = ("layer1", "layer2")
    # The trainer's own keys.
    resume_from_checkpoint: bool = False
    verbose: bool = False
    seed: int = 0
    image_size: int = 64
    eval_fraction: float = 0.2
    backbone: str = "resnet18"
    max_runtime_seconds: Optional[int] = None
    # Seed 002's request fields the platform passes through: `frames` (crops used per identity, the
    # first in name order) and `save_intermediate` (each epoch's weights kept beside the final ones).
    max_images_per_identity: Optional[int] = None
    save_intermediate: bool = False

    @property
    def cbam_layers(self) -> Tuple[str, ...]:
        """The stages that actually get CBAM: `attention_layers` only counts when `use_cbam`."""
        return self.attention_layers if self.use_cbam else ()

    def to_json_dict(self) -> Dict[str, Any]:
        """Plain JSON-serialisable form (tuples become lists), as written to model.json."""
        values = asdict(self)
        values["attention_layers"] = list(self.attention_layers)
        return values


# On resume these may differ from the checkpoint's values: they change how long or how visibly the
# job runs, never what a training step computes. Every other key must match, or the resumed run
# would silently train a different model than the one checkpointed.
RESUMABLE_OVERRIDES = frozenset(
    {
        "num_epochs",
        "early_stopping_patience",
        "max_runtime_seconds",
        "verbose",
        "num_workers",
        "prefetch_factor",
        "resume_from_checkpoint",
        "force_pretraining",
        "save_intermediate",
    }
)


@dataclass(frozen=True)
class _Spec:
    """How to read one hyperparameter: a parser for its type and a range check."""

    parse: Callable[[Any], Any]
    check: Callable[[Any], Optional[str]] = field(default=lambda _value: None)
    nullable: bool = False


class _ParseError(ValueError):
    pass


def _describe(value: Any) -> str:
    """The value as it appeared in hyperparameters.json, quotes included, so "-1" vs -1 shows."""
    return json.dumps(value)


def _parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _ParseError("must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        # "10.0" is what some tools write for an integer; anything with a fraction is an error.
        try:
            as_float = float(text)
        except ValueError:
            raise _ParseError("must be an integer") from None
        if math.isfinite(as_float) and as_float.is_integer():
            return int(as_float)
    raise _ParseError("must be an integer")


def _parse_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _ParseError("must be a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _ParseError("must be a number") from None
    else:
        raise _ParseError("must be a number")
    if not math.isfinite(number):
        raise _ParseError("must be a finite number")
    return number


_TRUE_WORDS = {"true", "1", "yes"}
_FALSE_WORDS = {"false", "0", "no"}


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise _ParseError('must be a boolean ("true" or "false")')


def _parse_layers(value: Any) -> Tuple[str, ...]:
    items: Any = value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                raise _ParseError('must be a list of stage names, e.g. ["layer1","layer2"]') from None
        else:
            # "layer1,layer2" is accepted too: it is what people type into a console form.
            items = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise _ParseError('must be a list of stage names, e.g. ["layer1","layer2"]')
    return tuple(items)


def _parse_backbone(value: Any) -> str:
    if not isinstance(value, str):
        raise _ParseError(f"must be one of {', '.join(BACKBONES)}")
    return value.strip().lower()


def _between(low: float, high: float, *, low_open: bool = False, high_open: bool = False):
    def check(number: float) -> Optional[str]:
        too_low = number <= low if low_open else number < low
        too_high = number >= high if high_open else number > high
        if too_low or too_high:
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            return f"must be in {left}{low:g}, {high:g}{right}"
        return None

    return check


def _check_layers(layers: Tuple[str, ...]) -> Optional[str]:
    unknown = [name for name in layers if name not in RESNET_STAGES]
    if unknown:
        return f"has unknown ResNet stage(s) {', '.join(unknown)}; allowed: {', '.join(RESNET_STAGES)}"
    if len(set(layers)) != len(layers):
        return "lists a stage more than once"
    return None


def _check_backbone(name: str) -> Optional[str]:
    return None if name in BACKBONES else f"must be one of {', '.join(BACKBONES)}"


_SPECS: Dict[str, _Spec] = {
    "num_epochs": _Spec(_parse_int, _between(1, 100_000)),
    "batch_size": _Spec(_parse_int, _between(4, 4096)),
    "learning_rate": _Spec(_parse_float, _between(0, 1, low_open=True)),
    "early_stopping_patience": _Spec(_parse_int, _between(0, 100_000)),
    "min_images_per_player": _Spec(_parse_int, _between(2, 100_000)),
    "margin": _Spec(_parse_float, _between(0, 2, low_open=True)),
    "weight_decay": _Spec(_parse_float, _between(0, 1)),
    "margin_decay_rate": _Spec(_parse_float, _between(0, 1, low_open=True)),
    "margin_change_threshold": _Spec(_parse_float, _between(0, 1)),
    "lr_scheduler_patience": _Spec(_parse_int, _between(0, 100_000)),
    "lr_scheduler_factor": _Spec(_parse_float, _between(0, 1, low_open=True, high_open=True)),
    "lr_scheduler_min_lr": _Spec(_parse_float, _between(0, 1)),
    "num_workers": _Spec(_parse_int, _between(0, 64)),
    "prefetch_factor": _Spec(_parse_int, _between(1, 64)),
    "force_pretraining": _Spec(_parse_bool),
    "embedding_dim": _Spec(_parse_int, _between(1, 8192)),
    "dropout_rate": _Spec(_parse_float, _between(0, 1, high_open=True)),
    "use_cbam": _Spec(_parse_bool),
    "attention_layers": _Spec(_parse_layers, _check_layers),
    "resume_from_checkpoint": _Spec(_parse_bool),
    "verbose": _Spec(_parse_bool),
    "seed": _Spec(_parse_int, _between(0, 2**32 - 1)),
    "image_size": _Spec(_parse_int, _between(32, 1024)),
    "eval_fraction": _Spec(_parse_float, _between(0, 0.9)),
    "backbone": _Spec(_parse_backbone, _check_backbone),
    "max_runtime_seconds": _Spec(_parse_int, _between(1, 30 * 24 * 3600), nullable=True),
    "max_images_per_identity": _Spec(_parse_int, _between(1, 100_000), nullable=True),
    "save_intermediate": _Spec(_parse_bool),
}

HYPERPARAMETER_NAMES: Tuple[str, ...] = tuple(_SPECS)


def parse_hyperparameters(raw: Mapping[str, Any], log: Callable[[str], None]) -> TrainerConfig:
    """Turn a hyperparameters mapping (strings or native JSON values) into a `TrainerConfig`.

    Unknown keys are logged and ignored: SageMaker and the SDKs add their own (`sagemaker_*`),
    and a typo should not cost a GPU job. Every invalid value is collected, so one failed job
    reports all of them at once.
    """
    values: Dict[str, Any] = {}
    problems: List[str] = []
    for key in sorted(raw):
        value = raw[key]
        spec = _SPECS.get(key)
        if spec is None:
            log(f"ignoring unknown hyperparameter {key!r}")
            continue
        if spec.nullable and (value is None or (isinstance(value, str) and value.strip().lower() in ("", "null", "none"))):
            values[key] = None
            continue
        try:
            parsed = spec.parse(value)
        except _ParseError as error:
            problems.append(f"hyperparameter {key!r} {error}, got {_describe(value)}")
            continue
        complaint = spec.check(parsed)
        if complaint:
            problems.append(f"hyperparameter {key!r} {complaint}, got {_describe(value)}")
            continue
        values[key] = parsed
    if problems:
        raise InvalidHyperparametersError("; ".join(problems))
    return TrainerConfig(**values)


def load_hyperparameters(path: Path, log: Callable[[str], None]) -> TrainerConfig:
    """Read `<root>/input/config/hyperparameters.json`; a missing file means "all defaults"
    (SageMaker always writes one, a quick local run may not)."""
    if not path.exists():
        log(f"no hyperparameters file at {path}; using defaults")
        return parse_hyperparameters({}, log)
    try:
        raw = json.loads(path.read_text(encoding="utf-8") or "{}")
    except json.JSONDecodeError as error:
        raise InvalidHyperparametersError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise InvalidHyperparametersError(f"{path} must hold a JSON object, got {type(raw).__name__}")
    return parse_hyperparameters(raw, log)
