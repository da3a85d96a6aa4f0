"""CBAM and the embedding network."""

import torch

from synthforge_trainer.model import CBAM, EmbeddingNetwork


def test_cbam_keeps_the_feature_map_shape_and_reweights_it():
    # Prepare
    torch.manual_seed(0)
    features = torch.rand(2, 64, 8, 8) + 0.1
    attention = CBAM(64)

    # Act
    attended = attention(features)

    # Assess
    assert attended.shape == features.shape
    assert not torch.allclose(attended, features), "attention must change the features"
    # Both gates are sigmoids in (0, 1): CBAM can only attenuate, never amplify, a positive input.
    assert bool((attended < features).all()) and bool((attended > 0).all())


def test_cbam_channel_gate_uses_reduction_ratio_16():
    # Act
    attention = CBAM(256)

    # Assess: 256 → 16 → 256 in the shared MLP.
    first, _, second = attention.channel.mlp
    assert (first.in_channels, first.out_channels, second.out_channels) == (256, 16, 256)
    assert attention.spatial.conv.kernel_size == (7, 7)


def test_embedding_network_gives_unit_length_embeddings_with_cbam_after_named_stages_only():
    # Prepare
    torch.manual_seed(0)
    network = EmbeddingNetwork("resnet18", embedding_dim=24, dropout_rate=0.0, attention_layers=("layer2", "layer4"))
    network.eval()

    # Act
    embeddings = network(torch.rand(3, 3, 32, 32))

    # Assess
    assert embeddings.shape == (3, 24)
    assert torch.allclose(embeddings.norm(dim=1), torch.ones(3), atol=1e-5)
    assert sorted(network.attention.keys()) == ["layer2", "layer4"]
    assert network.attention["layer4"].channel.mlp[0].in_channels == 512


def test_cbam_changes_what_the_network_computes():
    # Prepare: identical weights except for the CBAM modules.
    torch.manual_seed(0)
    plain = EmbeddingNetwork("resnet18", 16, 0.0, ())
    torch.manual_seed(0)
    attended = EmbeddingNetwork("resnet18", 16, 0.0, ("layer1",))
    attended.backbone.load_state_dict(plain.backbone.state_dict())
    attended.embedding.load_state_dict(plain.embedding.state_dict())
    images = torch.rand(2, 3, 32, 32)

    # Act
    plain.eval(), attended.eval()
    with torch.no_grad():
        difference = (plain(images) - attended(images)).abs().max()

    # Assess
    assert difference > 1e-4


def test_cbam_matches_the_channel_count_of_bottleneck_backbones():
    # Act: ResNet-50 stages end in bottleneck blocks (expansion 4).
    network = EmbeddingNetwork("resnet50", embedding_dim=8, dropout_rate=0.0, attention_layers=("layer1", "layer4"))

    # Assess
    assert network.attention["layer1"].channel.mlp[0].in_channels == 256
    assert network.attention["layer4"].channel.mlp[0].in_channels == 2048
    assert network.embedding.in_features == 2048
