"""MMagic's forms of ``val_evaluator``/``test_evaluator`` (mgx.core.config.evaluators), read as
MMagic 1.2's MultiValLoop reads them: a list of metric dicts beside ONE dataloader is one evaluator."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from mgx.core.config.evaluators import as_evaluator_dicts, evaluator_entries

REPO = Path(__file__).resolve().parents[2]
PSNR, SSIM, MAE = dict(type="PSNR", crop_border=2), dict(type="SSIM", crop_border=2), dict(type="MAE")


def _shape(value):
    return [(entry.field, [m["type"] for m in entry.metrics], entry.metric_paths, entry.problem)
            for entry in evaluator_entries(value, "val_evaluator")]


def test_each_of_mmagics_forms_gives_the_evaluators_mmagic_builds() -> None:
    assert _shape(None) == [] and _shape([]) == []
    assert _shape(dict(type="Evaluator", metrics=[PSNR, SSIM])) == [
        ("val_evaluator", ["PSNR", "SSIM"], ["val_evaluator.metrics[0]", "val_evaluator.metrics[1]"], None)]
    assert _shape(dict(metrics=[PSNR])) == [("val_evaluator", ["PSNR"], ["val_evaluator.metrics[0]"], None)]
    # one metric dict, and the list of metric dicts: ONE evaluator
    assert _shape(PSNR) == [("val_evaluator", ["PSNR"], ["val_evaluator"], None)]
    assert _shape([PSNR, SSIM]) == [("val_evaluator", ["PSNR", "SSIM"], ["val_evaluator[0]", "val_evaluator[1]"], None)]
    # one evaluator per dataloader: dicts with metrics=, or lists of metric dicts
    assert _shape([dict(type="Evaluator", metrics=[PSNR]), [SSIM, MAE]]) == [
        ("val_evaluator[0]", ["PSNR"], ["val_evaluator[0].metrics[0]"], None),
        ("val_evaluator[1]", ["SSIM", "MAE"], ["val_evaluator[1][0]", "val_evaluator[1][1]"], None)]
    [mixed] = [entry for entry in evaluator_entries([dict(metrics=[PSNR]), SSIM], "val_evaluator") if entry.problem]
    assert mixed.field == "val_evaluator[1]" and "other entries of val_evaluator are evaluators" in mixed.problem
    [wrong] = evaluator_entries(dict(type="MyEvaluator", metrics=[PSNR]), "test_evaluator")
    assert wrong.problem == "test_evaluator.type must be 'Evaluator', got 'MyEvaluator'"
    assert as_evaluator_dicts([PSNR, SSIM], "val_evaluator") == [dict(type="Evaluator", metrics=[PSNR, SSIM])]


LIST_FORM = """
_base_ = {base!r}
model = dict(generator=dict(mid_channels=4, num_blocks=1))
train_dataloader = dict(batch_size=4)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader
val_evaluator = [dict(type='PSNR', crop_border=2), dict(type='SSIM', crop_border=2)]
test_evaluator = val_evaluator
train_cfg = dict(max_iters=1, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1, save_best='PSNR'))
"""


@pytest.mark.timeout(300)
def test_a_list_of_metric_dicts_with_one_dataloader_is_one_evaluator(invoke, tmp_path: Path) -> None:
    config = tmp_path / "list_form.py"
    config.write_text(LIST_FORM.format(base=str(REPO / "configs" / "edsr_digits_x2.py")))
    shown = invoke(["config", "show", "--check", str(config)])
    assert shown.exit_code == 0, shown.output
    assert "crop_border" not in shown.stderr  # each dict is a metric: its arguments are the metric's
    work = tmp_path / "work"
    trained = invoke(["run", "train", str(config), "--no-track", "--work-dir", str(work)])
    assert trained.exit_code == 0, trained.output
    assert (work / "iter_1.pth").exists()
    tested = invoke(["run", "test", str(config), str(work / "iter_1.pth"), "--no-track",
                     "--work-dir", str(tmp_path / "test"), "--metrics", "SSIM"])
    assert tested.exit_code == 0, tested.output
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    assert set(metrics) == {"SSIM"} and 0 < metrics["SSIM"] <= 1, metrics


def test_two_dataloaders_with_one_list_of_metrics_each(invoke, tmp_path: Path) -> None:
    config = tmp_path / "two_sets.py"
    config.write_text(LIST_FORM.format(base=str(REPO / "configs" / "edsr_digits_x2.py")) + textwrap.dedent("""
        val_dataloader = [val_dataloader, val_dataloader]
        val_evaluator = [[dict(type='PSNR', prefix='a')], [dict(type='SSIM', prefix='b'), dict(type='PSNR', bad=1)]]
        default_hooks = dict(checkpoint=dict(interval=1, save_best=None))
        """))
    shown = invoke(["config", "show", "--check", str(config)])
    assert shown.exit_code == 2
    assert "val_evaluator[1][1]: metric 'PSNR' got unknown argument(s) bad" in shown.output, shown.output
