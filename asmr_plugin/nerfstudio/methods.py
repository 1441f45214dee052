"""nerfstudio methods: those that fit a single image (asmr-image, siren-image and one per baseline: ffn-image, ...,
grid-image) and the radiance field asmr-nerf."""

from __future__ import annotations

from typing import Any, Dict

from nerfstudio.configs.base_config import ViewerConfig
from nerfstudio.data.datamanagers.base_datamanager import VanillaDataManagerConfig
from nerfstudio.data.datamanagers.full_images_datamanager import FullImageDatamanager, FullImageDatamanagerConfig
from nerfstudio.data.dataparsers.blender_dataparser import BlenderDataParserConfig
from nerfstudio.engine.optimizers import AdamOptimizerConfig
from nerfstudio.pipelines.base_pipeline import VanillaPipelineConfig
from nerfstudio.plugins.types import MethodSpecification

from asmr_plugin.fields import FIELDS
from asmr_plugin.nerfstudio.dataparser import SingleImageDataParserConfig, SingleImageDataset
from asmr_plugin.nerfstudio.model import ImageFieldModelConfig
from asmr_plugin.nerfstudio.nerf_model import ASMRNerfModelConfig
from asmr_plugin.nerfstudio.pipeline import ImagePipelineConfig
from asmr_plugin.nerfstudio.schedulers import CosineAnnealingSchedulerConfig
from asmr_plugin.nerfstudio.trainer_config import ImageTrainerConfig, PluginTrainerConfig
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


NERF_STEPS = 5_000
"""asmr-nerf's iterations (rays of 512 views' pixels each): minutes on a CPU for a 64x64 asmr-scene."""


def nerf_method() -> PluginTrainerConfig:
    """asmr-nerf: a Blender-format scene (asmr-scene writes one offline), 512 rays a step, Adam with cosine
    annealing, evaluated by PSNR and SSIM (no LPIPS: nothing to download)."""
    return PluginTrainerConfig(
        method_name="asmr-nerf",
        max_num_iterations=NERF_STEPS,
        steps_per_eval_batch=500,
        steps_per_eval_image=500,
        steps_per_eval_all_images=NERF_STEPS,
        steps_per_save=1_000,
        mixed_precision=False,
        pipeline=VanillaPipelineConfig(
            datamanager=VanillaDataManagerConfig(
                dataparser=BlenderDataParserConfig(), train_num_rays_per_batch=512, eval_num_rays_per_batch=1024
            ),
            model=ASMRNerfModelConfig(eval_num_rays_per_chunk=4096),
        ),
        optimizers={"fields": optimizer(5e-4, 1e-5)},
        viewer=ViewerConfig(num_rays_per_chunk=4096, quit_on_train_completion=True),
        vis="viewer+tensorboard",
    )


asmr_nerf = MethodSpecification(
    config=nerf_method(),
    description="An ASMR radiance field over the scene box (density, features, a view-direction head) for "
    "Blender-format scenes; offline on a CPU (asmr-scene makes a scene)",
)
