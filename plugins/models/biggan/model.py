"""``BigGAN``: MMagic 1.2.0's BigGAN model (Brock et al. 2019): hinge losses on the projection
discriminator, the schedule, EMA and sampling of :class:`BaseConditionalGAN`.

Orthogonal regularisation (the paper's §3.1; MMagic 1.2.0's model has none) is mgx's addition, off by
default so MMagic's configs train as there: ``loss_config=dict(ortho_reg_weight=β)`` adds
``β · Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F`` over the generator's conv and linear weights (each flattened to
out × rest; the trainable weight under spectral norm; embeddings excluded, as BigGAN-PyTorch excludes
the shared embedding) to the generator loss as ``loss_ortho``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..base_models.base_conditional_gan import BaseConditionalGAN
from ..ops.spectral_norm import raw_weight


def orthogonal_regularisation(network: nn.Module) -> torch.Tensor:
    """Σ over the conv and linear weights W of ``network`` of ‖W Wᵀ ⊙ (1 − I)‖²_F."""
    total = torch.zeros(())
    for module in network.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            matrix = raw_weight(module).reshape(raw_weight(module).shape[0], -1)
            gram = matrix @ matrix.t()
            off_diagonal = gram - torch.diag_embed(torch.diagonal(gram))
            total = total.to(gram) + off_diagonal.pow(2).sum()
    return total


class BigGAN(BaseConditionalGAN):
    GENERATOR_TYPES = ("BigGANGenerator", "BigGANDeepGenerator")
    DISCRIMINATOR_TYPES = ("BigGANDiscriminator", "BigGANDeepDiscriminator")

    def _check_loss_config(self, loss_config: dict | None) -> None:
        config = dict(loss_config or {})
        unknown = sorted(set(config) - {"ortho_reg_weight"})
        if unknown:
            raise ConfigError(f"BigGAN: loss_config takes ortho_reg_weight (mgx's orthogonal regularisation), "
                              f"got unknown {unknown}")
        weight = config.get("ortho_reg_weight", 0.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise ConfigError(f"BigGAN: loss_config.ortho_reg_weight must be a number ≥ 0, got {weight!r}")
        self.ortho_reg_weight = float(weight)

    def disc_loss_terms(self, pred_fake: torch.Tensor, pred_real: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss_disc_fake": F.relu(1 + pred_fake).mean(), "loss_disc_real": F.relu(1 - pred_real).mean()}

    def gen_loss(self, pred_fake: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss_gen": -pred_fake.mean()}

    def generator_regularisers(self) -> dict[str, torch.Tensor]:
        if not self.ortho_reg_weight:
            return {}
        return {"loss_ortho": self.ortho_reg_weight * orthogonal_regularisation(self.generator)}


__all__ = ["BigGAN", "orthogonal_regularisation"]
