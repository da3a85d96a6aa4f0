"""Retrieval metrics on hand-placed embeddings."""

import pytest
import torch

from synthforge_trainer.evaluate import retrieval_metrics


def test_perfectly_clustered_identities_score_one():
    # Prepare
    embeddings = torch.tensor([[0.0, 0.0], [0.0, 0.1], [3.0, 0.0], [3.0, 0.1]])
    labels = torch.tensor([0, 0, 1, 1])

    # Act
    metrics = retrieval_metrics(embeddings, labels)

    # Assess
    assert metrics == {"recall_at_1": 1.0, "mean_average_precision": 1.0}


def test_recall_and_map_on_a_hand_ranked_case():
    # Prepare: points on a line, identities alternating: 0 (A), 1 (B), 2.2 (A), 3.5 (B).
    embeddings = torch.tensor([[0.0], [1.0], [2.2], [3.5]])
    labels = torch.tensor([0, 1, 0, 1])
    # Ranked galleries (nearest first) and the rank of the one relevant crop:
    #   query 0   (A): 1 (B), 2.2 (A), 3.5 (B) -> relevant at rank 2: AP 1/2
    #   query 1   (B): 0 (A), 2.2 (A), 3.5 (B) -> rank 3: AP 1/3
    #   query 2.2 (A): 1 (B), 3.5 (B), 0 (A)   -> rank 3: AP 1/3
    #   query 3.5 (B): 2.2 (A), 1 (B), 0 (A)   -> rank 2: AP 1/2
    # No query finds its identity first, so recall@1 is 0.
    expected_map = (1 / 2 + 1 / 3 + 1 / 3 + 1 / 2) / 4

    # Act
    metrics = retrieval_metrics(embeddings, labels)

    # Assess
    assert metrics["recall_at_1"] == 0.0
    assert metrics["mean_average_precision"] == pytest.approx(expected_map)
