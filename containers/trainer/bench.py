#!/usr/bin/env python3
"""Throughput of the trainer against a plain PyTorch loop on the same data.

Makes a synthetic identity dataset in a temporary folder, then measures training images per second
over one epoch, after one warm-up epoch (the first epoch pays one-off costs: allocator growth,
oneDNN kernel selection), for:

  (a) the trainer itself (`synthforge_trainer.train.run`), with CBAM after layer1..layer4, P×K
      batches, seeded augmentation, evaluation, checkpoints and progress.json;
  (b) a plain loop: the same crops, batch size, ResNet-18, embedding head, batch-hard triplet loss
      and AdamW, without CBAM or any platform extra.

Both numbers count only the training loop (data loading, forward, backward, step); the trainer's
per-epoch evaluation and checkpoint are outside its images/s, as the plain loop has neither.

Prints one JSON line: {"trainer_images_per_second", "plain_images_per_second", "ratio", ...}.
Threads: SYNTHFORGE_TORCH_THREADS if set, otherwise torch's default.

    cd containers/trainer && /usr/bin/python3 bench.py
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import models

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from synthforge_trainer.data import NORMALIZE_MEAN, NORMALIZE_STD  # noqa: E402
from synthforge_trainer.losses import batch_hard_triplet_loss  # noqa: E402
from synthforge_trainer.paths import MLPaths  # noqa: E402
from synthforge_trainer.progress import RunLog  # noqa: E402
from synthforge_trainer.synthetic import write_synthetic_identities  # noqa: E402
from synthforge_trainer.train import THREADS_ENV_VAR, run  # noqa: E402

IDENTITIES = 8
CROPS_PER_IDENTITY = 8
IMAGE_SIZE = 64
BATCH_SIZE = 16
EMBEDDING_DIM = 128
SEED = 0


def trainer_images_per_second(root: Path) -> float:
    """Two epochs through the trainer; the second epoch's images/s from progress.json."""
    paths = MLPaths(root)
    paths.hyperparameters.parent.mkdir(parents=True, exist_ok=True)
    paths.hyperparameters.write_text(
        json.dumps(
            {
                "num_epochs": "2",
                "batch_size": str(BATCH_SIZE),
                "image_size": str(IMAGE_SIZE),
                "embedding_dim": str(EMBEDDING_DIM),
                "use_cbam": "true",
                "attention_layers": '["layer1","layer2","layer3","layer4"]',
                "num_workers": "0",
                # Everything trains, so both loops see the same 64 crops; metrics are not timed anyway.
                "eval_fraction": "0",
                "seed": str(SEED),
            }
        )
    )
    outcome = run(paths, log=RunLog(stream=io.StringIO()))
    if outcome.status != "completed":
        raise RuntimeError(f"trainer run did not complete: {outcome.message}")
    return float(json.loads(paths.progress.read_text())["images_per_second"])


class PlainCrops(Dataset):
    """The crops as a textbook folder dataset: decode, resize, normalise; no augmentation."""

    def __init__(self, train_dir: Path) -> None:
        folders = sorted(path for path in train_dir.iterdir() if path.is_dir())
        self.samples: List[Tuple[Path, int]] = [
            (image, label) for label, folder in enumerate(folders) for image in sorted(folder.glob("*.png"))
        ]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        with Image.open(path) as image:
            crop = TF.to_tensor(image.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR))
        return TF.normalize(crop, NORMALIZE_MEAN, NORMALIZE_STD), label


def plain_images_per_second(train_dir: Path) -> float:
    """A plain loop over the same crops and batch size; images/s of its second epoch."""
    torch.manual_seed(SEED)
    network = models.resnet18(weights=None)
    network.fc = nn.Linear(network.fc.in_features, EMBEDDING_DIM)
    optimizer = torch.optim.AdamW(network.parameters(), lr=0.001, weight_decay=0.0001)
    loader = DataLoader(PlainCrops(train_dir), batch_size=BATCH_SIZE, shuffle=True, num_workers=0)
    network.train()
    images_per_second = 0.0
    for _epoch in range(2):
        started, images = time.monotonic(), 0
        for crops, labels in loader:
            optimizer.zero_grad(set_to_none=True)
            embeddings = nn.functional.normalize(network(crops), dim=1)
            loss = batch_hard_triplet_loss(embeddings, labels, margin=0.4)
            loss.backward()
            optimizer.step()
            images += len(labels)
        images_per_second = images / (time.monotonic() - started)
    return images_per_second


def main() -> int:
    threads = os.environ.get(THREADS_ENV_VAR)
    if threads:
        torch.set_num_threads(int(threads))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="synthforge-trainer-bench-") as temporary:
        root = Path(temporary)
        write_synthetic_identities(MLPaths(root).train_data, IDENTITIES, CROPS_PER_IDENTITY, IMAGE_SIZE, seed=SEED)
        plain = plain_images_per_second(MLPaths(root).train_data)
        trainer = trainer_images_per_second(root)
    print(
        json.dumps(
            {
                "trainer_images_per_second": round(trainer, 2),
                "plain_images_per_second": round(plain, 2),
                "ratio": round(trainer / plain, 3),
                "images_per_epoch": IDENTITIES * CROPS_PER_IDENTITY,
                "batch_size": BATCH_SIZE,
                "image_size": IMAGE_SIZE,
                "torch_threads": torch.get_num_threads(),
                "device": "cuda" if torch.cuda.is_available() else "cpu",
                "wall_seconds": round(time.monotonic() - started, 1),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
