"""Components nested in others' arguments (``model.generator``, a loss, a transform's arguments) are
checked before start-up: registered? arguments taken? All problems at once, naming the key, exit 2,
and nothing written (no work_dir)."""
from __future__ import annotations

from pathlib import Path

from mgx.core.config.components import nested_components

REPO = Path(__file__).resolve().parents[2]

BROKEN = """
_base_ = {base!r}
model = dict(generator=dict(_delete_=True, type='SwinIRNetV9', upscale=2, img_size=48),
             pixel_loss=dict(type='L1Loss', loss_weight=1.0, colour=3))
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs', keyz=['img'])]))
"""


def _broken_config(tmp_path: Path) -> Path:
    config = tmp_path / "broken.py"
    config.write_text(BROKEN.format(base=str(REPO / "configs" / "edsr_digits_x2.py")))
    return config


EXPECTED = ("model.generator.type: unknown model type 'SwinIRNetV9'",
            "model.pixel_loss: model 'L1Loss' got unknown argument(s) colour; it accepts: loss_weight, reduction",
            "train_dataloader.dataset.pipeline[0].keyz: transform 'PackInputs' has no argument 'keyz'. "
            "Did you mean 'keys'?")


def test_config_show_check_reports_every_nested_problem(invoke, tmp_path: Path) -> None:
    shown = invoke(["config", "show", "--check", str(_broken_config(tmp_path))])
    assert shown.exit_code == 2, shown.output
    assert "3 problems" in shown.output
    for line in EXPECTED:
        assert line in shown.output, shown.output


def test_a_run_refuses_them_together_before_the_work_dir_exists(invoke, tmp_path: Path) -> None:
    work = tmp_path / "work"
    trained = invoke(["run", "train", str(_broken_config(tmp_path)), "--no-track", "--work-dir", str(work)])
    assert trained.exit_code == 2, trained.output
    assert "3 problems" in trained.output and "`mgx plugins` lists what is installed" in trained.output
    for line in EXPECTED:
        assert line in trained.output, trained.output
    assert not work.exists()


def test_an_argument_the_generator_does_not_take_is_named_before_start_up(invoke, tmp_path: Path) -> None:
    # an argument StyleGANv2Generator does not take (DragGAN's fixed_noise it now does)
    work = tmp_path / "work"
    options = ["--cfg-options", "model.generator.warp_speed=True"]
    config = str(REPO / "configs" / "stylegan2_digits.py")
    expected = "model.generator: model 'StyleGANv2Generator' got unknown argument(s) warp_speed; it accepts: "
    shown = invoke(["config", "show", "--check", config, *options])
    assert shown.exit_code == 2 and expected in shown.output, shown.output
    trained = invoke(["run", "train", config, "--no-track", "--work-dir", str(work), *options])
    assert trained.exit_code == 2 and expected in trained.output, trained.output
    assert not work.exists()


def test_settings_dicts_are_the_owners_and_kinds_follow_the_key(restore_registry_source) -> None:
    from mgx.core.plugins import PluginManager

    registry = PluginManager(["mgx.plugins.models", "mgx.plugins.data", "mgx.plugins.metrics"]).activate().registry
    model = dict(type="BaseEditModel",
                 generator=dict(type="EDSRNet", init_cfg=dict(type="Pretrained", checkpoint="x.pth"),
                                act_cfg=dict(type="LeakyReLU", negative_slope=0.2)),
                 ema_config=dict(type="ExponentialMovingAverage", momentum=0.999),
                 extra=dict(nested=[dict(type="L1Loss")]))
    found = [(n.path, n.kind, n.name, n.factory is not None) for n in nested_components(model, "model", "model", registry)]
    assert found == [("model.generator", "model", "EDSRNet", True), ("model.extra.nested[0]", "model", "L1Loss", True)]
    dataset = dict(type="RepeatDataset", dataset=dict(type="BasicImageDataset", pipeline=[dict(type="Flip")]))
    found = [(n.path, n.kind, n.name) for n in nested_components(dataset, "d", "dataset", registry)]
    assert found == [("d.dataset", "dataset", "BasicImageDataset"), ("d.dataset.pipeline[0]", "transform", "Flip")]
