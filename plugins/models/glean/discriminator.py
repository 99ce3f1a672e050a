"""``StyleGANv2Discriminator``: MMagic registers its StyleGAN2 discriminator under this second name, which
GLEAN's configs use. It is mgx's ``StyleGAN2Discriminator``, plus loading ``init_cfg`` weights taken from a
whole StyleGAN2 checkpoint (``prefix='discriminator'``), or a GLEAN checkpoint, in MMagic's or mgx's key layout."""
from __future__ import annotations

from ..stylegan2 import StyleGAN2Discriminator
from .glean_styleganv2 import stylegan_weights


class StyleGANv2Discriminator(StyleGAN2Discriminator):
    """StyleGAN2's discriminator under MMagic's second name (see the module docstring)."""

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """Its state dict in MMagic's StyleGAN2 layout (or mgx's) -> mgx's."""
        return stylegan_weights(weights, "discriminator")

    def load_pretrained_weights(self, weights: dict) -> None:
        self.load_state_dict(self.adapt_loaded_weights(weights))
