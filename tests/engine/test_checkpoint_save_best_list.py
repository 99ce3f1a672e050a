"""MMEngine's list form of save_best/rule (GLEAN's configs): the first key and its rule are kept."""
import pytest

from mgx.core.engine.checkpoint import CheckpointPolicy
from mgx.core.errors import ConfigError


def test_list_form_keeps_the_first_key_and_its_rule():
    policy = CheckpointPolicy(save_best=["MAE", "PSNR", "SSIM"], rule=["less", "greater", "greater"])
    assert policy.save_best == "MAE" and policy.rule == "less"
    with pytest.raises(ConfigError, match="one rule per key"):
        CheckpointPolicy(save_best=["MAE", "PSNR"], rule=["less"])
