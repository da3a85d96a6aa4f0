"""Re-identification metrics on held-out identities: recall@1 and mean average precision.

Every held-out crop is a query against all the other held-out crops (the gallery), ranked by
Euclidean distance between embeddings; a gallery crop is relevant when it shows the same identity.
"""

from __future__ import annotations

from typing import Dict, Tuple

import torch
from torch import nn
from torch.utils.data import DataLoader

from .losses import pairwise_distances


@torch.no_grad()
def embed_all(network: nn.Module, loader: DataLoader, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """Embeddings and labels of every crop the loader yields, in eval mode (no dropout)."""
    was_training = network.training
    network.eval()
    embeddings, labels = [], []
    for images, batch_labels in loader:
        embeddings.append(network(images.to(device)).cpu())
        labels.append(batch_labels)
    network.train(was_training)
    return torch.cat(embeddings), torch.cat(labels)


def retrieval_metrics(embeddings: torch.Tensor, labels: torch.Tensor) -> Dict[str, float]:
    """recall@1: share of queries whose nearest other crop has the same identity.
    mAP: mean over queries of the average precision of the ranked gallery.

    Queries with no other crop of their identity are skipped (they cannot be answered).
    """
    distances = pairwise_distances(embeddings.double())
    count = len(labels)
    hits, precisions, answered = 0, 0.0, 0
    for query in range(count):
        gallery = torch.tensor([index for index in range(count) if index != query], dtype=torch.long)
        relevant = labels[gallery] == labels[query]
        if not bool(relevant.any()):
            continue
        # A stable sort keeps ties in gallery order, so the metric is reproducible.
        order = torch.sort(distances[query, gallery], stable=True).indices
        ranked_relevant = relevant[order].double()
        hits += int(ranked_relevant[0].item())
        ranks = torch.arange(1, len(gallery) + 1, dtype=torch.double)
        precision_at_rank = ranked_relevant.cumsum(0) / ranks
        precisions += float((precision_at_rank * ranked_relevant).sum() / ranked_relevant.sum())
        answered += 1
    if answered == 0:
        return {"recall_at_1": 0.0, "mean_average_precision": 0.0}
    return {"recall_at_1": hits / answered, "mean_average_precision": precisions / answered}
