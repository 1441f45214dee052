"""The single-image methods' pipeline: nerfstudio's, with finite standard deviations in ns-eval."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Type

from nerfstudio.pipelines.base_pipeline import VanillaPipeline, VanillaPipelineConfig


@dataclass
class ImagePipelineConfig(VanillaPipelineConfig):
    """VanillaPipelineConfig that builds an ``ImagePipeline``."""

    _target: Type = field(default_factory=lambda: ImagePipeline)


class ImagePipeline(VanillaPipeline):
    """VanillaPipeline whose per-metric standard deviations over one image are 0, not NaN.

    A subclass because nerfstudio computes them here, in ``get_average_image_metrics``, with the
    sample (n - 1) standard deviation, which is NaN for the one image these methods evaluate;
    ``ns-eval`` would write that NaN into its JSON, which strict parsers reject.
    """

    def get_average_image_metrics(
        self,
        data_loader,
        image_prefix: str,
        step: Optional[int] = None,
        output_path: Optional[Path] = None,
        get_std: bool = False,
    ) -> Dict[str, float]:
        """nerfstudio's averages (and standard deviations) over ``data_loader``'s images."""
        metrics = super().get_average_image_metrics(data_loader, image_prefix, step, output_path, get_std)
        if len(data_loader) == 1:
            metrics.update({key: 0.0 for key in metrics if key.endswith("_std")})
        return metrics
