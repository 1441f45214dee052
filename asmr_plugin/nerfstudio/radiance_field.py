"""ASMR as a radiance field: density and a feature vector from an ASMR network over the scene box (3-D coordinate
decomposition, hierarchical modulation), colour from a small head on the feature and the view direction."""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import torch
from jaxtyping import Float
from nerfstudio.cameras.rays import RaySamples
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.field_components.activations import trunc_exp
from nerfstudio.field_components.encodings import SHEncoding
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.field_components.mlp import MLP
from nerfstudio.fields.base_field import Field, get_normalized_directions
from torch import Tensor, nn

from asmr_plugin import decomposition
from asmr_plugin.fields.asmr import ASMRField


class ASMRRadianceField(Field):
    """Density and colour at points of the scene box ``aabb``: the box is the ASMR grid of ``bases`` (its cells the
    finest level's), density ``exp`` of the first output (truncated, as nerfacto's), ``feature_dim`` further outputs
    with spherical harmonics of the view direction through a ReLU head to RGB. Outside the box the density is 0."""

    def __init__(
        self,
        aabb: Float[Tensor, "2 3"],
        bases: Sequence[Sequence[int]],
        hidden_dim: int = 128,
        feature_dim: int = 15,
        direction_levels: int = 4,
        head_hidden: int = 64,
        omega0: float = 30.0,
        output_gain: float = 1.0,
    ) -> None:
        super().__init__()
        self.register_buffer("aabb", aabb.clone().float())
        self.network = ASMRField(None, 1 + feature_dim, hidden_dim, bases=bases, omega0=omega0)
        with torch.no_grad():
            self.network.start_at_(None, output_gain)
        self.level: int | None = None
        """Evaluate the network as levels 0 .. ``level`` alone make it (``ASMRField.forward_coarse``); None: all."""
        self.register_buffer("grid", torch.tensor(decomposition.grid_shape(self.network.bases), dtype=torch.float32))
        self.direction_encoding = SHEncoding(levels=direction_levels, implementation="torch")
        self.head = MLP(
            in_dim=feature_dim + self.direction_encoding.get_out_dim(),
            num_layers=2,
            layer_width=head_hidden,
            out_dim=3,
            activation=nn.ReLU(),
            out_activation=nn.Sigmoid(),
            implementation="torch",
        )

    def grid_coords(self, positions: Float[Tensor, "*batch 3"]) -> Tuple[Float[Tensor, "*batch 3"], Tensor]:
        """Positions as coordinates of the ASMR grid (cells of the finest level), and which lie inside the box."""
        unit = SceneBox.get_normalized_positions(positions, self.aabb)
        inside = ((unit >= 0) & (unit <= 1)).all(dim=-1, keepdim=True)
        return unit.clamp(0, 1) * (self.grid - 1), inside

    def neighbour_difference(self, count: int) -> Float[Tensor, ""]:
        """Mean squared difference of the network's outputs (density logit and features) between ``count`` random
        cells of the box and their neighbour along a random axis: a smoothness prior on the finest cells."""
        cells = torch.rand(count, 3, device=self.grid.device) * self.grid
        step = torch.nn.functional.one_hot(torch.randint(3, (count,), device=cells.device), 3).to(cells)
        neighbours = torch.where(cells + step < self.grid, cells + step, cells - step)
        outputs = self.network(torch.cat([cells, neighbours]))
        here, there = outputs.chunk(2)
        return (here - there).square().mean()

    def get_density(self, ray_samples: RaySamples) -> Tuple[Tensor, Tensor]:
        coords, inside = self.grid_coords(ray_samples.frustums.get_positions())
        raw = self.network(coords) if self.level is None else self.network.forward_coarse(coords, self.level)
        density = trunc_exp(raw[..., :1].to(coords)) * inside
        return density, raw[..., 1:]

    def get_outputs(
        self, ray_samples: RaySamples, density_embedding: Tensor | None = None
    ) -> Dict[FieldHeadNames, Tensor]:
        assert density_embedding is not None
        directions = self.direction_encoding(get_normalized_directions(ray_samples.frustums.directions))
        rgb = self.head(torch.cat([density_embedding, directions], dim=-1))
        return {FieldHeadNames.RGB: rgb}
