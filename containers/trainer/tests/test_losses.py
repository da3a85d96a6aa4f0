"""Batch-hard triplet loss, checked against a case computed by hand."""

import math

import pytest
import torch

from synthforge_trainer.losses import batch_hard_triplet_loss


def test_batch_hard_triplet_loss_matches_a_hand_computed_case():
    # Prepare: identity A at (0,0), (0,1); identity B at (2,0), (0,2); margin 0.5.
    embeddings = torch.tensor([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.0, 2.0]])
    labels = torch.tensor([0, 0, 1, 1])
    # By hand, per anchor: hardest positive distance, hardest (closest) negative distance.
    #   a1: pos 1,   neg min(2, 2)     = 2 -> max(0, 1 - 2 + 0.5)   = 0
    #   a2: pos 1,   neg min(√5, 1)    = 1 -> max(0, 1 - 1 + 0.5)   = 0.5
    #   b1: pos √8,  neg min(2, √5)    = 2 -> √8 - 2 + 0.5          = √8 - 1.5
    #   b2: pos √8,  neg min(2, 1)     = 1 -> √8 - 1 + 0.5          = √8 - 0.5
    expected = (0 + 0.5 + (math.sqrt(8) - 1.5) + (math.sqrt(8) - 0.5)) / 4  # = 1.03921...

    # Act
    loss = batch_hard_triplet_loss(embeddings, labels, margin=0.5)

    # Assess
    assert loss.item() == pytest.approx(expected, abs=1e-5)


def test_well_separated_identities_give_zero_loss_and_gradients_flow_otherwise():
    # Prepare
    separated = torch.tensor([[0.0, 0.0], [0.0, 0.1], [5.0, 0.0], [5.0, 0.1]])
    mixed = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.1, 0.0], [0.9, 0.0]], requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1])

    # Act
    separated_loss = batch_hard_triplet_loss(separated, labels, margin=0.5)
    mixed_loss = batch_hard_triplet_loss(mixed, labels, margin=0.5)
    mixed_loss.backward()

    # Assess
    assert separated_loss.item() == 0.0
    assert mixed_loss.item() > 0 and torch.isfinite(mixed.grad).all() and mixed.grad.abs().sum() > 0
