"""Every pix2pix / cyclegan / lsgan / ggan / wgan-gp / styleganv3 config of MMagic 1.2.0: `mgx run train` for 2
iterations, then `mgx run test`, at tiny width, in one process, on synthetic data in MMagic's folder
layouts (tests/models/gan_zoo_helpers.py writes them). Overridden: data roots, batch size, loader
workers, image sizes, network widths/scales, fake_nums/real_nums, and the Inception metrics' feature
network (a tiny stand-in: the real weights are a download). Where a config's save_best names a key its
metrics do not produce (an MMagic config bug: MMEngine would fail at the first validation), the run is
repeated with save_best=FID-50k/fid and the line says so.

    python benchmarks/gan_zoo_trials.py [FAMILY ...]   # MGX_MMAGIC_CONFIGS: the configs folder
"""
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "models"))
import gan_zoo_helpers as h  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from mgx.cli.context import plugin_manager  # noqa: E402
from mgx.cli.main import cli  # noqa: E402
from mgx.core.config import load_config, to_plain  # noqa: E402

ROOT = Path(os.environ.get("MGX_MMAGIC_CONFIGS", "/work/mmagic/src/mmagic/.mim/configs"))
WORK = Path(tempfile.mkdtemp(prefix="gan_zoo_trials_"))
INCEPTION = {"TransFID", "TransIS", "FrechetInceptionDistance", "InceptionScore", "FID-Full", "FID", "IS"}

def transform_options(prefix, transform, size, train):
    out = []
    kind = transform.get("type")
    if kind == "Resize":
        s = size + 4 if train and transform.get("scale") not in (None,) and size >= 32 else size
        out.append(f"{prefix}.scale=({s},{s})")
    elif kind in ("Crop", "FixedCrop"):
        out.append(f"{prefix}.crop_size=({size},{size})")
    elif kind == "TransformBroadcaster":
        inner = transform["transforms"]
        if isinstance(inner, dict):
            out += transform_options(f"{prefix}.transforms", inner, size, train)
        else:
            for i, t in enumerate(inner):
                out += transform_options(f"{prefix}.transforms.{i}", t, size, train)
    return out

# tiny widths per generator type ({size}: the trial's image size)
NETWORKS = {
    "UnetGenerator": ["model.generator.base_channels=2", "model.generator.num_down=5",
                      "model.discriminator.base_channels=2"],
    "ResnetGenerator": ["model.generator.base_channels=2", "model.generator.num_blocks=1",
                        "model.discriminator.base_channels=2"],
    "DCGANGenerator": ["model.generator.output_scale={size}", "model.generator.base_channels=16",
                       "model.discriminator.input_scale={size}", "model.discriminator.base_channels=4",
                       "model.noise_size=8"],
    "LSGANGenerator": ["model.generator.output_scale={size}", "model.generator.base_channels=8",
                       "model.generator.noise_size=16", "model.discriminator.input_scale={size}",
                       "model.discriminator.base_channels=4", "model.noise_size=16"],
    "StyleGANv3Generator": ["model.generator.out_size={size}", "model.generator.noise_size=16",
                            "model.generator.style_channels=16", "model.generator.synthesis_cfg.channel_base=256",
                            "model.generator.synthesis_cfg.channel_max=16",
                            "model.generator.synthesis_cfg.num_layers=4",
                            "model.generator.synthesis_cfg.margin_size=2", "model.discriminator.in_size={size}",
                            "model.discriminator.channel_multiplier=1"],
    # MMagic's fixed 512 widths: one image per training batch
    "WGANGPGenerator": ["model.generator.out_scale={size}", "model.discriminator.in_scale={size}",
                        "train_dataloader.batch_size=1"],
}


def crops(pipeline: list) -> bool:
    return any(t.get("type") in ("Crop", "FixedCrop") or (t.get("type") == "TransformBroadcaster"
                                                          and "Crop" in json.dumps(t.get("transforms")))
               for t in pipeline)


def metric_options(cfg: dict, size: int) -> list[str]:
    opts = []
    for evaluator in ("val_evaluator", "test_evaluator"):
        metrics = cfg.get(evaluator, {}).get("metrics", [])
        for index, metric in enumerate([metrics] if isinstance(metrics, dict) else metrics):
            field = f"{evaluator}.metrics.{index}"
            opts.append(f"{field}.fake_nums=2")
            if metric.get("type") in INCEPTION:
                opts.append(f"{field}.feature_extractor=dict(type='TinyInception')")
                if "real_nums" in metric:
                    opts.append(f"{field}.real_nums=2")
            if metric.get("type") == "SWD":
                opts.append(f"{field}.image_shape=(3,{size},{size})")
    return opts


def options_for(cfg: dict, size: int) -> list[str]:
    opts = []
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        if not cfg.get(loader):
            continue
        pipeline = cfg[loader]["dataset"].get("pipeline", [])
        for index, transform in enumerate(pipeline):
            opts += transform_options(f"{loader}.dataset.pipeline.{index}", transform, size, crops(pipeline))
    network = NETWORKS[cfg["model"]["generator"]["type"]]
    return opts + metric_options(cfg, size) + [option.format(size=size) for option in network]


def loader_options(cfg: dict, data: Path) -> list[str]:
    return [option for option in h.loader_options(data) if cfg.get(option.split(".")[0])]


def save_initial_weights(config: Path, opts: list[str], path: Path) -> None:
    """For MMagic's test-only configs (converted official weights: train_dataloader = optim_wrapper =
    None): the freshly initialised model's state_dict in MMEngine's checkpoint layout, standing in for
    the published checkpoint that ``mgx run test`` evaluates."""
    import torch

    from mgx.core.registry import build

    plugin_manager()  # activates the registry
    cfg = load_config(str(config), [o for o in opts if not o.startswith("custom_imports")])
    torch.save({"state_dict": build(to_plain(cfg)["model"], "model").state_dict()}, path)


def invoke(args, cwd):
    os.chdir(cwd)
    plugin_manager.cache_clear()
    try:
        return CliRunner().invoke(cli, args, prog_name="mgx", catch_exceptions=True)
    finally:
        plugin_manager.cache_clear()
        sys.modules.pop("tiny_inception", None)

def write_data(work: Path, family: str, size: int) -> Path:
    if family == "pix2pix":
        return h.write_paired_layout(work / "data", size=size, counts={"train": 2, "test": 2, "val": 2})
    if family == "cyclegan":
        return h.write_unpaired_layout(work / "data", size=size,
                                       counts={"trainA": 2, "trainB": 2, "testA": 2, "testB": 2})
    return h.write_image_folder(work / "data", size=size)


def trial(config: Path, family: str) -> str:
    """One line: family, config, train/test outcome, seconds, the extra override used, the error."""
    cfg = to_plain(load_config(str(config)))
    size = {"WGANGPGenerator": 16, "DCGANGenerator": 16, "StyleGANv3Generator": 16}.get(
        cfg["model"]["generator"]["type"], 32)
    work = WORK / config.stem
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    trains = bool(cfg.get("train_dataloader"))
    opts = loader_options(cfg, write_data(work, family, size)) + (["train_cfg.max_iters=2"] if trains else [])
    opts += options_for(cfg, size) + h.tiny_metric_options(work, {})
    extra, start = [], time.time()
    if not trains:
        return test_only_trial(config, family, work, opts, start)
    train = ["run", "train", str(config), "--no-track", "--work-dir", str(work / "w"), "--cfg-options", *opts]
    result = invoke(train, work)
    if result.exit_code != 0 and "save_best" in result.output + str(result.exception):
        extra = ["default_hooks.checkpoint.save_best=FID-50k/fid"]
        shutil.rmtree(work / "w", ignore_errors=True)
        result = invoke(train + extra, work)
    trained, tested, message = result.exit_code == 0, False, ""
    if trained:
        result = invoke(["run", "test", str(config), str(work / "w" / "iter_2.pth"), "--no-track", "--work-dir",
                         str(work / "t"), "--cfg-options", *opts, *extra], work)
        tested = result.exit_code == 0
    if not tested:
        message = (result.output[-300:] + repr(result.exception))[-400:].replace("\n", " ")
    outcome = f"train={'ok' if trained else 'FAIL'}\ttest={'ok' if tested else 'FAIL'}"
    return f"{family}\t{config.stem}\t{outcome}\t{time.time() - start:.0f}s\t{' '.join(extra)}\t{message}"


def test_only_trial(config: Path, family: str, work: Path, opts: list[str], start: float) -> str:
    (work / "w").mkdir()
    checkpoint = work / "w" / "initial.pth"
    try:
        save_initial_weights(config, opts, checkpoint)
        result = invoke(["run", "test", str(config), str(checkpoint), "--no-track", "--work-dir", str(work / "t"),
                         "--cfg-options", *opts], work)
        tested, message = result.exit_code == 0, (result.output[-300:] + repr(result.exception))[-400:]
    except Exception as error:  # noqa: BLE001 - one line per config, whatever went wrong
        tested, message = False, repr(error)[-400:]
    message = "" if tested else message.replace("\n", " ")
    return (f"{family}\t{config.stem}\ttrain=n/a (test-only config)\ttest={'ok' if tested else 'FAIL'}\t"
            f"{time.time() - start:.0f}s\t\t{message}")


def main(families: list[str]) -> None:
    for family in families or ("pix2pix", "cyclegan", "lsgan", "ggan", "wgan-gp"):
        for config in sorted((ROOT / family).glob("*.py")):
            print(trial(config, family), flush=True)
            shutil.rmtree(WORK / config.stem, ignore_errors=True)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
