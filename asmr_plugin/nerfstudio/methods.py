"""nerfstudio methods that fit a single image: asmr-image, siren-image and one per baseline (ffn-image, ...,
grid-image)."""

from __future__ import annotations

from typing import Any, Dict

from nerfstudio.configs.base_config import ViewerConfig
from nerfstudio.data.datamanagers.full_images_datamanager import FullImageDatamanager, FullImageDatamanagerConfig
from nerfstudio.engine.optimizers import AdamOptimizerConfig
from nerfstudio.plugins.types import MethodSpecification

from asmr_plugin.fields import FIELDS
from asmr_plugin.nerfstudio.dataparser import SingleImageDataParserConfig, SingleImageDataset
from asmr_plugin.nerfstudio.model import ImageFieldModelConfig
from asmr_plugin.nerfstudio.pipeline import ImagePipelineConfig
from asmr_plugin.nerfstudio.schedulers import CosineAnnealingSchedulerConfig
from asmr_plugin.nerfstudio.trainer_config import ImageTrainerConfig
from asmr_plugin.schedule import PAPER_STEPS


def optimizer(lr: float, final_lr: float) -> Dict[str, Any]:
    """Adam with cosine annealing from ``lr`` to ``final_lr`` over the paper's steps."""
    return {
        "optimizer": AdamOptimizerConfig(lr=lr, eps=1e-8),
        "scheduler": CosineAnnealingSchedulerConfig(lr_final=final_lr, max_steps=PAPER_STEPS),
    }


def image_method(name: str, network: str, lr: float) -> ImageTrainerConfig:
    """The paper's image protocol: 10K full-image steps, Adam, cosine annealing to 1e-6, one rate. A network's
    parameter subsets (ASMR's output layer and modulators) get optimizers of their own at that rate, so
    ``--optimizers.field-output.optimizer.lr 1e-3 --optimizers.field-modulation.optimizer.lr 1e-5`` gives
    ASMR's fast start (``FAST_START``)."""
    optimizers = {"fields": optimizer(lr, 1e-6)}
    for subset in FIELDS[network].lr_subset_names:
        optimizers[f"field_{subset}"] = optimizer(lr, 1e-6)
    return ImageTrainerConfig(
        method_name=name,
        max_num_iterations=PAPER_STEPS,
        steps_per_eval_batch=0,
        steps_per_eval_image=500,
        steps_per_eval_all_images=PAPER_STEPS,
        steps_per_save=2_000,
        mixed_precision=False,
        pipeline=ImagePipelineConfig(
            datamanager=FullImageDatamanagerConfig(
                _target=FullImageDatamanager[SingleImageDataset],
                dataparser=SingleImageDataParserConfig(),
                cache_images="gpu",  # the datamanager's device: CPU-only machines too ("cpu" pins memory)
            ),
            model=ImageFieldModelConfig(network=network),
        ),
        optimizers=optimizers,
        viewer=ViewerConfig(quit_on_train_completion=True),
        vis="viewer+tensorboard",
    )


def image_method_specification(network: str, description: str) -> MethodSpecification:
    """``<network>-image`` at the paper's learning rate for that network."""
    return MethodSpecification(
        config=image_method(f"{network}-image", network, lr=FIELDS[network].paper_lr), description=description
    )


asmr_image = image_method_specification(
    "asmr", "ASMR (ICLR 2024) fitting one image; activation-sharing full-image steps"
)
siren_image = image_method_specification("siren", "SIREN fitting one image (the ASMR paper's baseline)")
ffn_image = image_method_specification(
    "ffn", "Fourier feature network (ReLU MLP on random Fourier features) fitting one image"
)
mfn_image = image_method_specification("mfn", "Multiplicative filter network (FourierNet) fitting one image")
wire_image = image_method_specification("wire", "WIRE (complex Gabor wavelet MLP) fitting one image")
kilonerf_image = image_method_specification("kilonerf", "KiloNeRF-style grid of tiny MLPs fitting one image")
loe_image = image_method_specification("loe", "Levels-of-Experts (position-dependent weight tiles) fitting one image")
ngp_image = image_method_specification(
    "ngp", "Instant-NGP hash grid + MLP (nerfstudio's HashEncoding) fitting one image"
)
grid_image = image_method_specification(
    "grid", "Dense grid of values at ASMR's parameters, read bilinearly (the baseline at equal parameters)"
)
