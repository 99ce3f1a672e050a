"""``StyleGANv2Discriminator``: MMagic registers its StyleGAN2 discriminator under this second name, which
GLEAN's configs use. It is mgx's ``StyleGAN2Discriminator``, plus loading ``init_cfg`` weights taken from a
whole StyleGAN2 checkpoint (``prefix='discriminator'``) in MMagic's or mgx's key layout."""
from __future__ import annotations

from ..stylegan2 import StyleGAN2Discriminator
from .glean_styleganv2 import stylegan_weights


class StyleGANv2Discriminator(StyleGAN2Discriminator):
    """StyleGAN2's discriminator under MMagic's second name (see the module docstring)."""

    def load_pretrained_weights(self, weights: dict) -> None:
        self.load_state_dict(stylegan_weights(weights, "discriminator"))
