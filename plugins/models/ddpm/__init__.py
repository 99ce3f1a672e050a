"""MMagic's ``ddpm`` networks: ``DenoisingUnet`` (improved DDPM / guided diffusion's U-Net), under MMagic
1.2.0's arguments and state-dict keys; the guided_diffusion and disco_diffusion families sample with it."""
from .denoising_unet import DenoisingUnet


def components() -> list:
    return [DenoisingUnet]


__all__ = ["DenoisingUnet", "components"]
