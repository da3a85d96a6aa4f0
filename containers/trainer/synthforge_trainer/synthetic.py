"""A tiny synthetic re-identification dataset: one folder per "player", crops of coloured shapes.

Used by the tests and the benchmark, and handy for trying the trainer without real data. Each
identity has a fixed colour and shape; its crops vary position, size, shade and background, so the
identities are learnable but not trivially identical.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import List

from PIL import Image, ImageDraw

_SHAPES = ("ellipse", "rectangle", "triangle")


def write_synthetic_identities(
    train_dir: Path, identities: int, crops_per_identity: int, image_size: int = 64, seed: int = 0
) -> List[Path]:
    """Write `identities` folders of `crops_per_identity` PNG crops under `train_dir`; returns the folders."""
    folders = []
    for identity in range(identities):
        rng = random.Random(seed * 100_003 + identity)
        colour = tuple(rng.randrange(40, 256) for _ in range(3))
        shape = _SHAPES[identity % len(_SHAPES)]
        folder = train_dir / f"player_{identity:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for crop in range(crops_per_identity):
            background = tuple(rng.randrange(0, 50) for _ in range(3))
            image = Image.new("RGB", (image_size, image_size), background)
            draw = ImageDraw.Draw(image)
            extent = rng.randrange(image_size // 3, image_size * 2 // 3)
            left = rng.randrange(0, image_size - extent)
            top = rng.randrange(0, image_size - extent)
            shade = tuple(max(0, min(255, channel + rng.randrange(-20, 21))) for channel in colour)
            box = [left, top, left + extent, top + extent]
            if shape == "ellipse":
                draw.ellipse(box, fill=shade)
            elif shape == "rectangle":
                draw.rectangle(box, fill=shade)
            else:
                draw.polygon([(left, top + extent), (left + extent, top + extent), (left + extent // 2, top)], fill=shade)
            image.save(folder / f"crop_{crop:03d}.png")
        folders.append(folder)
    return folders
