"""Identity discovery, the held-out split and reproducible P×K batches."""

import torch

from synthforge_trainer.data import (
    CropDataset,
    Identity,
    PKBatchSampler,
    augment_crop,
    discover_identities,
    plan_batch_shape,
    split_identities,
)
from synthforge_trainer.synthetic import write_synthetic_identities


def test_split_holds_out_whole_identities_reproducibly(tmp_path):
    # Prepare
    write_synthetic_identities(tmp_path, identities=10, crops_per_identity=2, image_size=32)
    identities = discover_identities(tmp_path)

    # Act
    train, held = split_identities(identities, eval_fraction=0.2, seed=5)
    again_train, again_held = split_identities(identities, eval_fraction=0.2, seed=5)

    # Assess
    assert len(held) == 2 and len(train) == 8
    assert {i.name for i in train}.isdisjoint({i.name for i in held})
    assert (again_train, again_held) == (train, held)


def test_split_keeps_two_identities_for_training():
    # Prepare: identities only need names here.
    three = [Identity(name, ()) for name in "abc"]

    # Act
    train_of_three, held_of_three = split_identities(three, eval_fraction=0.9, seed=0)
    train_of_two, held_of_two = split_identities(three[:2], eval_fraction=0.5, seed=0)

    # Assess
    assert (len(train_of_three), len(held_of_three)) == (2, 1)
    assert (len(train_of_two), len(held_of_two)) == (2, 0), "with 2 identities nothing can be held out"


def test_pk_batches_have_p_identities_of_k_crops_and_repeat_per_epoch(tmp_path):
    # Prepare
    write_synthetic_identities(tmp_path, identities=6, crops_per_identity=5, image_size=32)
    identities = discover_identities(tmp_path)
    dataset = CropDataset(identities, image_size=32)
    players, crops = plan_batch_shape(batch_size=12, identities=identities)
    sampler = PKBatchSampler(dataset.indices_by_label, players, crops, seed=1)

    # Act
    epoch_0 = sampler.batches_for_epoch(0)
    epoch_0_again = sampler.batches_for_epoch(0)
    epoch_1 = sampler.batches_for_epoch(1)
    sampler.set_epoch(0, start_batch=1)
    resumed = list(sampler)

    # Assess
    assert (players, crops) == (3, 4)
    assert len(epoch_0) == 3, "30 crops / 12 per batch -> 3 batches"
    for batch in epoch_0:
        labels = [dataset.samples[index][1] for index, _ in batch]
        assert sorted(labels.count(label) for label in set(labels)) == [4, 4, 4]
        assert len({index for index, _ in batch}) == 12, "no crop twice in a batch"
    assert epoch_0 == epoch_0_again and epoch_0 != epoch_1
    assert resumed == epoch_0[1:]


def test_augmentation_is_a_function_of_the_sample_seed():
    # Prepare
    crop = torch.rand(3, 16, 16)

    # Act
    first, same, other = augment_crop(crop, 11), augment_crop(crop, 11), augment_crop(crop, 12)

    # Assess
    assert torch.equal(first, same)
    assert not torch.equal(first, other)
