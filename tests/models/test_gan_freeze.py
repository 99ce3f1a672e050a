"""One owner for "freeze the discriminator during the generator step": plugins.models.common.frozen."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from mgx.plugins.models.common import frozen

MODELS = Path(__file__).resolve().parents[2] / "plugins" / "models"
GANS = ("DCGAN", "StyleGAN2", "SRGAN", "Pix2Pix", "CycleGAN")  # LSGAN, GGAN, WGANGP, ESRGAN inherit theirs
# a loop that sets a discriminator's requires_grad parameter by parameter: the block `frozen` replaces
BY_HAND = re.compile(r"for\s+(\w+)\s+in\s+[\w.]*disc\w*\.parameters\(\)\s*:\s*\n\s*\1\.requires_grad_?\b")


def test_frozen_restores_each_parameters_own_flag_also_on_an_exception() -> None:
    module = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    module[1].bias.requires_grad_(False)  # frozen before: stays frozen after
    before = [p.requires_grad for p in module.parameters()]
    with frozen(module):
        assert not any(p.requires_grad for p in module.parameters())
        loss = module(torch.ones(1, 2)).sum()
        assert not loss.requires_grad
    assert [p.requires_grad for p in module.parameters()] == before
    with pytest.raises(RuntimeError, match="inside"):
        with frozen(module):
            raise RuntimeError("inside")
    assert [p.requires_grad for p in module.parameters()] == before
    with frozen(None):  # a model without a discriminator (SRGAN as a plain generator)
        pass


def test_the_gan_models_freeze_with_the_shared_helper_and_nowhere_by_hand() -> None:
    users, by_hand = set(), []
    for path in sorted(MODELS.rglob("*.py")):
        if path.name == "common.py" and path.parent == MODELS:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"with frozen\(self\.discriminators?\)", text):
            users.update(name for name in GANS if re.search(rf"^class {name}\b", text, re.M))
        by_hand += [f"{path.relative_to(MODELS)}: {m.group(0).split(chr(10))[0]}" for m in BY_HAND.finditer(text)]
    assert users == set(GANS)
    assert by_hand == [], "parameters frozen by hand (use plugins.models.common.frozen):\n" + "\n".join(by_hand)
