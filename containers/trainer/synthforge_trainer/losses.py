"""Batch-hard triplet loss (Hermans et al., "In Defense of the Triplet Loss", 2017)."""

from __future__ import annotations

import torch

# Floor under squared distances before the square root: sqrt has an infinite gradient at 0,
# which the zero diagonal (and duplicate crops) would otherwise hit.
_MIN_SQUARED_DISTANCE = 1e-12


def pairwise_distances(embeddings: torch.Tensor) -> torch.Tensor:
    """Euclidean distance between every pair of rows, via |a|² + |b|² − 2a·b (memory B², not B²·D)."""
    squared_norms = (embeddings * embeddings).sum(dim=1)
    squared = squared_norms.unsqueeze(1) + squared_norms.unsqueeze(0) - 2 * embeddings @ embeddings.t()
    return squared.clamp_min(_MIN_SQUARED_DISTANCE).sqrt()


def batch_hard_triplet_loss(embeddings: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Mean over anchors of max(0, d(a, hardest positive) − d(a, hardest negative) + margin).

    For each anchor the hardest positive is the farthest crop of the same identity (itself
    excluded) and the hardest negative the closest crop of another identity. Anchors lacking either
    are left out; a batch with none yields a zero that still carries a gradient.
    """
    distances = pairwise_distances(embeddings)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    not_self = ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    positives = same & not_self
    negatives = ~same

    # Masked-out entries become -inf for the max and +inf for the min, so they never win.
    hardest_positive = distances.masked_fill(~positives, float("-inf")).amax(dim=1)
    hardest_negative = distances.masked_fill(~negatives, float("inf")).amin(dim=1)
    valid = positives.any(dim=1) & negatives.any(dim=1)
    if not bool(valid.any()):
        return embeddings.sum() * 0.0
    losses = torch.relu(hardest_positive[valid] - hardest_negative[valid] + margin)
    return losses.mean()
