"""``save_best='PSNR'`` (MMagic's default_runtime.py) with metrics that carry a prefix (``McMaster/PSNR``):
MMEngine's CheckpointHook looks ``metrics['PSNR']`` up and stops with KeyError at the first validation;
mgx takes the one key ending in ``/PSNR`` and reports a name that ends several keys or none before
iteration 0 (docs/configs.md, "save_best")."""
from __future__ import annotations

import pytest

from mgx.core.errors import ConfigError
from mgx.core.evaluation.evaluator import Evaluator
from mgx.core.evaluation.validation import EvalSet
from mgx.core.plugins import PluginManager
from mgx.core.run import preflight


@pytest.fixture(autouse=True)
def _metrics():
    PluginManager(default_plugins=["mgx.plugins.metrics"]).activate()


def _sets(*prefixes: str | None) -> list[EvalSet]:
    metrics = [dict(type=kind, prefix=prefix) for prefix in prefixes for kind in ("PSNR", "SSIM")]
    return [EvalSet(loader=None, evaluator=Evaluator(metrics), loader_cfg=None)]


def _problems(save_best: str, sets: list[EvalSet]) -> str:
    with pytest.raises(ConfigError) as caught:
        preflight.check_run(None, eval_sets=sets, evaluator_field="val_evaluator", save_best=save_best)
    return str(caught.value)


def test_a_name_ending_exactly_one_key_is_that_key_and_others_stay_as_given() -> None:
    assert preflight.resolve_save_best("PSNR", _sets("McMaster")) == "McMaster/PSNR"
    assert preflight.resolve_save_best("SSIM", _sets("McMaster")) == "McMaster/SSIM"
    assert preflight.resolve_save_best("McMaster/PSNR", _sets("McMaster")) == "McMaster/PSNR"
    assert preflight.resolve_save_best("PSNR", _sets(None)) == "PSNR"  # an exact key wins
    # only whole name parts after a '/': 'SNR' is not 'PSNR'
    assert preflight.resolve_save_best("SNR", _sets("McMaster")) == "SNR"
    assert preflight.resolve_save_best("PSNR", _sets("Set5", "Set14")) == "PSNR"
    assert preflight.resolve_save_best(None, _sets("Set5")) is None


def test_the_preflight_names_the_candidates_when_several_keys_end_in_the_name() -> None:
    message = _problems("PSNR", _sets("Set5", "Set14"))
    assert ("save_best='PSNR' matches several metric keys of val_evaluator: Set14/PSNR, Set5/PSNR; "
            "name one of them in full") in message
    message = _problems("SNR", _sets("McMaster"))
    assert "save_best='SNR' but no metric of val_evaluator produces it; they produce: McMaster/PSNR" in message


def test_auto_is_the_first_metric_key_as_in_mmengine() -> None:
    # DeblurGANv2's configs: save_best='auto' with metrics PSNR, SSIM
    assert preflight.resolve_save_best("auto", _sets(None)) == "PSNR"
    assert preflight.resolve_save_best("auto", _sets("Set5", "Set14")) == "Set5/PSNR"
