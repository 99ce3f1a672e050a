"""``StyleGANv2Discriminator``: MMagic registers its StyleGAN2 discriminator under this second name, which
GLEAN's configs use; here it is mgx's ``StyleGAN2Discriminator`` (which loads MMagic's key layout) under that
name. (Where the stylegan2 family registers the name itself as an alias, this class goes.)"""
from __future__ import annotations

from ..stylegan2 import StyleGAN2Discriminator


class StyleGANv2Discriminator(StyleGAN2Discriminator):
    """StyleGAN2's discriminator under MMagic's second name (see the module docstring)."""
