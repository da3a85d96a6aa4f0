"""Identity folders, the train/eval split, crop loading with seeded augmentation, and P×K batches.

Determinism is designed in rather than bolted on: the batches of epoch `e` are drawn from a
generator seeded with (seed, e), and every crop carries its own augmentation seed. The data a step
sees therefore depends only on (seed, epoch, batch), not on the global RNG, the number of DataLoader
workers, or whether the run was resumed in the middle of an epoch.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator, List, Sequence, Tuple, Union

import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch.utils.data import Dataset, Sampler

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg"})
# ImageNet statistics: ResNet weights expect them, and random-init training is indifferent.
NORMALIZE_MEAN = (0.485, 0.456, 0.406)
NORMALIZE_STD = (0.229, 0.224, 0.225)
# K, the crops per identity in a batch: 4 is the usual choice for batch-hard triplet mining.
MAX_CROPS_PER_IDENTITY = 4
# "Light" augmentation: a jersey's colour is identity evidence, so jitter stays small.
COLOR_JITTER = 0.1

# A training sample key: (index into the dataset, augmentation seed). Evaluation uses plain ints.
SampleKey = Union[int, Tuple[int, int]]


@dataclass(frozen=True)
class Identity:
    """One player (identity) and the paths of its crops, sorted for a stable order."""

    name: str
    image_paths: Tuple[Path, ...]


def unpack_archives(train_dir: Path, into: Path) -> Path:
    """The folder of identity folders to train on.

    A SynthForge batch reaches the trainer as its jobs' result archives (a manifest channel), each
    holding `<job>/identities/<id>/<crop>.png` (archives written before results had a job folder
    start at `identities/`): they are unpacked into `into`, every identity named after
    its archive's folder (the job) as well, since two jobs both have an `id_0000`. A channel without
    archives is already one folder per identity and is used as it is.
    """
    archives = sorted(path for path in train_dir.rglob("*.zip") if path.is_file()) if train_dir.is_dir() else []
    if not archives:
        return train_dir
    into.mkdir(parents=True, exist_ok=True)
    for archive in archives:
        owner = archive.parent.name if archive.parent != train_dir else archive.stem
        with zipfile.ZipFile(archive) as bundle:
            for entry in bundle.infolist():
                parts = PurePosixPath(entry.filename).parts
                if len(parts) == 4 and parts[1] == "identities":
                    parts = parts[1:]  # the job's own folder
                # identities/<identity>/<crop>: anything else (metadata, odd paths) is not a crop.
                if entry.is_dir() or len(parts) != 3 or parts[0] != "identities" or ".." in parts:
                    continue
                if Path(parts[2]).suffix.lower() not in IMAGE_EXTENSIONS:
                    continue
                target = into / f"{owner}-{parts[1]}" / parts[2]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(bundle.read(entry))
    return into


def discover_identities(train_dir: Path) -> List[Identity]:
    """One identity per sub-folder of `train_dir`, in name order; hidden entries are skipped."""
    if not train_dir.is_dir():
        raise FileNotFoundError(
            f"no training data at {train_dir}: expected one folder per identity holding its .png/.jpg crops"
        )
    identities = []
    for folder in sorted(train_dir.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        images = tuple(
            sorted(
                path
                for path in folder.iterdir()
                if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS
            )
        )
        identities.append(Identity(folder.name, images))
    return identities


def split_identities(
    identities: Sequence[Identity], eval_fraction: float, seed: int
) -> Tuple[List[Identity], List[Identity]]:
    """Hold out whole identities for evaluation, so metrics measure re-identification of players
    the network has never seen.

    The held-out count is round(eval_fraction × n), at least 1 when eval_fraction > 0, but never
    so many that fewer than 2 identities remain for training (a triplet needs two identities).
    With only 2 identities nothing is held out and metrics are skipped.
    """
    count = len(identities)
    if eval_fraction <= 0 or count < 3:
        return list(identities), []
    held_out = min(max(1, round(eval_fraction * count)), count - 2)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(count, generator=generator).tolist()
    eval_positions = set(order[:held_out])
    train = [identity for position, identity in enumerate(identities) if position not in eval_positions]
    held = [identity for position, identity in enumerate(identities) if position in eval_positions]
    return train, held


def plan_batch_shape(batch_size: int, identities: Sequence[Identity]) -> Tuple[int, int]:
    """Choose P identities × K crops per batch with P × K ≤ batch_size.

    K = min(4, the smallest identity's crop count, batch_size // 2), so every identity in a batch
    can contribute K distinct crops and P is at least 2; P = min(batch_size // K, identities).
    """
    smallest = min(len(identity.image_paths) for identity in identities)
    crops = max(2, min(MAX_CROPS_PER_IDENTITY, smallest, batch_size // 2))
    players = min(batch_size // crops, len(identities))
    return players, crops


def load_crop(path: Path, image_size: int) -> torch.Tensor:
    """Decode a crop as float RGB in [0, 1], resized to a square `image_size`."""
    try:
        with Image.open(path) as image:
            resized = image.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
    except Exception as error:  # PIL raises many types; the path is what the user needs.
        raise RuntimeError(f"cannot read image {path}: {error}") from error
    return TF.to_tensor(resized)


def augment_crop(crop: torch.Tensor, seed: int) -> torch.Tensor:
    """Random horizontal flip and small brightness/contrast/saturation jitter, drawn from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    draws = torch.rand(4, generator=generator).tolist()
    if draws[0] < 0.5:
        crop = torch.flip(crop, dims=[2])
    crop = TF.adjust_brightness(crop, 1 + COLOR_JITTER * (2 * draws[1] - 1))
    crop = TF.adjust_contrast(crop, 1 + COLOR_JITTER * (2 * draws[2] - 1))
    crop = TF.adjust_saturation(crop, 1 + COLOR_JITTER * (2 * draws[3] - 1))
    return crop


class CropDataset(Dataset):
    """All crops of a set of identities; labels are identity positions within that set.

    A key `(index, seed)` returns an augmented crop (training), a plain `index` the crop as is
    (evaluation).
    """

    def __init__(self, identities: Sequence[Identity], image_size: int) -> None:
        self.image_size = image_size
        self.samples: List[Tuple[Path, int]] = [
            (path, label) for label, identity in enumerate(identities) for path in identity.image_paths
        ]
        self.indices_by_label: List[List[int]] = [[] for _ in identities]
        for index, (_, label) in enumerate(self.samples):
            self.indices_by_label[label].append(index)
        self._mean = torch.tensor(NORMALIZE_MEAN).view(3, 1, 1)
        self._std = torch.tensor(NORMALIZE_STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: SampleKey) -> Tuple[torch.Tensor, int]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        path, label = self.samples[index]
        crop = load_crop(path, self.image_size)
        if seed is not None:
            crop = augment_crop(crop, seed)
        return (crop - self._mean) / self._std, label


def epoch_seed(seed: int, epoch: int) -> int:
    """A distinct, reproducible generator seed per (run seed, epoch)."""
    return (seed * 1_000_003 + epoch * 7_919 + 17) % (2**63 - 1)


class PKBatchSampler(Sampler):
    """Batches of P identities × K crops, reproducible per epoch and resumable mid-epoch.

    An epoch has ceil(training crops / (P × K)) batches, so it shows about as many crops as the
    training set holds. `set_epoch(epoch, start_batch)` selects the epoch and skips the batches a
    resumed run has already trained on.
    """

    def __init__(self, indices_by_label: Sequence[Sequence[int]], players: int, crops: int, seed: int) -> None:
        self._indices_by_label = [list(indices) for indices in indices_by_label]
        self.players = players
        self.crops = crops
        self._seed = seed
        total = sum(len(indices) for indices in self._indices_by_label)
        self.batches_per_epoch = max(1, math.ceil(total / (players * crops)))
        self._epoch = 0
        self._start_batch = 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self._epoch = epoch
        self._start_batch = start_batch

    def batches_for_epoch(self, epoch: int) -> List[List[Tuple[int, int]]]:
        """Every batch of `epoch` as lists of (dataset index, augmentation seed)."""
        generator = torch.Generator().manual_seed(epoch_seed(self._seed, epoch))
        batches = []
        for _ in range(self.batches_per_epoch):
            labels = torch.randperm(len(self._indices_by_label), generator=generator)[: self.players].tolist()
            indices: List[int] = []
            for label in labels:
                pool = self._indices_by_label[label]
                picks = torch.randperm(len(pool), generator=generator)[: self.crops].tolist()
                indices.extend(pool[pick] for pick in picks)
            seeds = torch.randint(0, 2**31 - 1, (len(indices),), generator=generator).tolist()
            batches.append(list(zip(indices, seeds)))
        return batches

    def __iter__(self) -> Iterator[List[Tuple[int, int]]]:
        return iter(self.batches_for_epoch(self._epoch)[self._start_batch :])

    def __len__(self) -> int:
        return self.batches_per_epoch - self._start_batch
