"""The embedding network: a torchvision ResNet, optional CBAM after chosen stages, and an
L2-normalised embedding head (as LaxAI's player re-identification model)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models

from .config import RESNET_STAGES

# The weights enums list the ImageNet checkpoints torchvision knows, and their file names.
_BACKBONE_FACTORIES: Dict[str, Tuple[Callable[..., models.ResNet], type]] = {
    "resnet18": (models.resnet18, models.ResNet18_Weights),
    "resnet34": (models.resnet34, models.ResNet34_Weights),
    "resnet50": (models.resnet50, models.ResNet50_Weights),
}
CBAM_REDUCTION = 16


class ChannelAttention(nn.Module):
    """Which channels matter: a shared MLP over average- and max-pooled descriptors (CBAM §3.1)."""

    def __init__(self, channels: int, reduction: int = CBAM_REDUCTION) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        # 1×1 convolutions are the MLP applied per pooled descriptor, without reshaping.
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, kernel_size=1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, kernel_size=1, bias=False),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        average = self.mlp(F.adaptive_avg_pool2d(features, 1))
        maximum = self.mlp(F.adaptive_max_pool2d(features, 1))
        return torch.sigmoid(average + maximum)


class SpatialAttention(nn.Module):
    """Where to look: a 7×7 convolution over the channel-wise average and max maps (CBAM §3.2)."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size=kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        average = features.mean(dim=1, keepdim=True)
        maximum = features.amax(dim=1, keepdim=True)
        return torch.sigmoid(self.conv(torch.cat([average, maximum], dim=1)))


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel attention, then spatial attention."""

    def __init__(self, channels: int, reduction: int = CBAM_REDUCTION) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        features = features * self.channel(features)
        return features * self.spatial(features)


def _stage_channels(stage: nn.Sequential) -> int:
    last_block = stage[-1]
    # Bottleneck blocks (ResNet-50) end in bn3, basic blocks (ResNet-18/34) in bn2.
    final_norm = getattr(last_block, "bn3", None) or last_block.bn2
    return final_norm.num_features


class EmbeddingNetwork(nn.Module):
    """ResNet backbone → (CBAM after the named stages) → global average pool → dropout → linear →
    L2-normalised embedding.

    CBAM modules live beside the backbone (`attention.<stage>`) instead of inside it, so the
    backbone's state-dict keys stay torchvision's and ImageNet weights load into it unchanged.
    """

    def __init__(
        self,
        backbone: str = "resnet18",
        embedding_dim: int = 512,
        dropout_rate: float = 0.2,
        attention_layers: Sequence[str] = (),
    ) -> None:
        super().__init__()
        factory, _ = _BACKBONE_FACTORIES[backbone]
        self.backbone = factory(weights=None)
        feature_dim = self.backbone.fc.in_features
        self.backbone.fc = nn.Identity()
        self.attention = nn.ModuleDict(
            {stage: CBAM(_stage_channels(getattr(self.backbone, stage))) for stage in attention_layers}
        )
        self.dropout = nn.Dropout(dropout_rate)
        self.embedding = nn.Linear(feature_dim, embedding_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        net = self.backbone
        features = net.maxpool(net.relu(net.bn1(net.conv1(images))))
        for stage in RESNET_STAGES:
            features = getattr(net, stage)(features)
            if stage in self.attention:
                features = self.attention[stage](features)
        pooled = torch.flatten(net.avgpool(features), 1)
        return F.normalize(self.embedding(self.dropout(pooled)), p=2, dim=1)


def cached_imagenet_weights(backbone: str) -> Optional[Path]:
    """The path of torchvision's ImageNet checkpoint for `backbone` if it is already in the torch
    hub cache (`torch.hub.get_dir()/checkpoints`). Nothing is downloaded: training jobs may run
    without internet access, and a silent download would make runs depend on the network."""
    _, weights_enum = _BACKBONE_FACTORIES[backbone]
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    # DEFAULT first (IMAGENET1K_V2 for ResNet-50), then any other ImageNet release.
    candidates: Iterable = [weights_enum.DEFAULT] + [w for w in weights_enum if w is not weights_enum.DEFAULT]
    for weights in candidates:
        path = checkpoints / Path(weights.url).name
        if path.is_file():
            return path
    return None


def load_imagenet_weights(network: EmbeddingNetwork, path: Path) -> None:
    """Load a torchvision ImageNet state dict into the backbone; the classifier (`fc.*`) is dropped
    because the network replaces it with the embedding head."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    backbone_state = {key: value for key, value in state.items() if not key.startswith("fc.")}
    network.backbone.load_state_dict(backbone_state, strict=True)
