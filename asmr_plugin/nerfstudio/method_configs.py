"""The entry points of asmr-plugin's nerfstudio methods (the specifications live in ``methods``).

nerfstudio loads every plugin's entry points before it runs any method, so an exception here
would break ``ns-train`` for everyone: on failure the specs become None, which nerfstudio skips
with a warning, and the reason is printed.
"""

try:
    from asmr_plugin.nerfstudio.methods import (
        asmr_image,
        asmr_nerf,
        ffn_image,
        grid_image,
        kilonerf_image,
        loe_image,
        mfn_image,
        ngp_image,
        siren_image,
        wire_image,
    )
except Exception as error:  # noqa: BLE001 - any failure must stay inside this plugin
    from rich.console import Console

    Console(stderr=True).print(f"[bold yellow]asmr-plugin: methods unavailable ({type(error).__name__}: {error})")
    asmr_image = asmr_nerf = siren_image = ffn_image = mfn_image = wire_image = None
    kilonerf_image = loe_image = ngp_image = grid_image = None

__all__ = [
    "asmr_image",
    "asmr_nerf",
    "siren_image",
    "ffn_image",
    "mfn_image",
    "wire_image",
    "kilonerf_image",
    "loe_image",
    "ngp_image",
    "grid_image",
]
