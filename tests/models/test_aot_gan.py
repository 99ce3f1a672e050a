"""AOT-GAN (MMagic 1.2.0's aot_gan config): parameter count and state-dict keys as MMagic's definitions
make them (aotgan/*.py, archs/smpatch_disc.py, read), an MMagic checkpoint through load_from, the AOT
block's gate and the smgan loss against float64 computations of their definitions, the AOT augmentations,
and the config trained 2 iterations + tested through the CLI at tiny width."""
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mgx.benchmarks.zoo_data import Sizes, prepare_trial
from mgx.core.config import load_config
from mgx.core.engine.checkpoint import load_model_weights, weights_of
from mgx.core.registry import build

from gan_zoo_helpers import CONFIGS, evaluate_checkpoint, run_ok
from nested_equal import assert_identical

CONFIG = CONFIGS / "aot_gan" / "aot-gan_smpgan_4xb4_places-512x512.py"


def config_model():
    cfg = load_config(str(CONFIG))["model"]
    cfg["loss_composed_percep"]["pretrained"] = None  # no VGG download here
    return cfg


def conv(prefix, cout, cin, k, bias=True):
    return {f"{prefix}.weight": (cout, cin, k, k), **({f"{prefix}.bias": (cout,)} if bias else {})}


def mmagic_aot_shapes():
    """MMagic's AOTEncoderDecoder + SoftMaskPatchDiscriminator(3, 64, num_conv=3, spectral norm), by reading."""
    keys = {}
    for index, (cin, cout, k) in enumerate([(4, 64, 7), (64, 128, 4), (128, 256, 4)], start=1):
        keys.update(conv(f"generator.encoder.encoder.{index}.conv", cout, cin, k))
    for block in range(8):
        prefix = f"generator.dilation_neck.model.{block}"
        for branch in range(4):
            keys.update(conv(f"{prefix}.blocks.{branch}.1.conv", 64, 256, 3))
        keys.update(conv(f"{prefix}.fuse.1.conv", 256, 256, 3))
        keys.update(conv(f"{prefix}.gate.1.conv", 256, 256, 3))
    for index, (cin, cout) in enumerate([(256, 128), (128, 64), (64, 3)]):
        keys.update(conv(f"generator.decoder.decoder.{index}.conv", cout, cin, 3))
    for index, (cin, cout) in enumerate([(3, 64), (64, 128), (128, 256), (256, 512)]):
        keys.update({f"disc.model.{index}.conv.weight_orig": (cout, cin, 4, 4),
                     f"disc.model.{index}.conv.weight_u": (cout,), f"disc.model.{index}.conv.weight_v": (cin * 16,)})
    keys.update(conv("disc.model.4", 1, 512, 4))
    return keys


def test_parameters_and_keys_are_mmagics_and_mmagic_checkpoints_load():
    cfg = config_model()
    cfg.update(loss_composed_percep=None, loss_out_percep=False)  # (VGG's weights are not the model's)
    with torch.device("meta"):  # the published widths, without spending seconds on initialisation
        nets = {"generator": build(cfg["encdec"], "model"), "disc": build(cfg["disc"], "model")}
    shapes = {f"{n}.{k}": tuple(v.shape) for n, net in nets.items() for k, v in net.state_dict().items()}
    assert shapes == mmagic_aot_shapes()
    # MMagic's published config: generator 668,352 + 8 × 1,770,240 + 370,563; critic 2,763,777
    assert sum(p.numel() for p in nets["generator"].parameters()) == 15_200_835
    assert sum(p.numel() for p in nets["disc"].parameters()) == 2_763_777
    cfg["encdec"]["dilation_neck"]["num_aotblock"] = 2  # an MMagic checkpoint of fewer blocks loads the same way
    model = build(cfg, "model")
    state = {k: torch.randn(v) for k, v in mmagic_aot_shapes().items() if not k.startswith(
        tuple(f"generator.dilation_neck.model.{i}." for i in range(2, 8)))}
    state.update({"data_preprocessor.mean": torch.full((3, 1, 1), 127.5), "data_preprocessor.std": torch.ones(3, 1, 1)})
    load_model_weights(model, weights_of({"meta": {"mmagic_version": "1.2.0"}, "state_dict": state}), "aot.pth")
    assert torch.equal(model.generator.dilation_neck.model[1].gate[1].conv.weight,
                       state["generator.dilation_neck.model.1.gate.1.conv.weight"])
    assert torch.equal(model.disc.model[3].conv.weight_orig, state["disc.model.3.conv.weight_orig"])


def test_aot_block_gate_matches_float64_definition():
    block = build(dict(type="AOTBlockNeck", in_channels=8, num_aotblock=1), "model").model[0].double()
    x = torch.randn(2, 8, 11, 9, dtype=torch.float64)
    branches = [F.conv2d(F.pad(x, [r] * 4, mode="reflect"), b[1].conv.weight, b[1].conv.bias, dilation=r).relu()
                for r, b in zip((1, 2, 4, 8), block.blocks)]
    fused = F.conv2d(F.pad(torch.cat(branches, 1), [1] * 4, mode="reflect"), block.fuse[1].conv.weight,
                     block.fuse[1].conv.bias)
    y = F.conv2d(F.pad(x, [1] * 4, mode="reflect"), block.gate[1].conv.weight, block.gate[1].conv.bias)
    n = y.shape[2] * y.shape[3]
    mean = y.sum((2, 3), keepdim=True) / n
    std = ((y - mean) ** 2).sum((2, 3), keepdim=True).div(n - 1).sqrt() + 1e-9
    gate = 1 / (1 + torch.exp(-5 * (2 * (y - mean) / std - 1)))
    torch.testing.assert_close(block(x), x * (1 - gate) + fused * gate, rtol=1e-12, atol=1e-12)


def test_smgan_loss_matches_float64_definition():
    loss = build(dict(type="GANLoss", gan_type="smgan", loss_weight=0.01), "model")
    scores = torch.randn(2, 1, 6, 6, dtype=torch.float64)
    mask = torch.zeros(2, 1, 16, 16, dtype=torch.float64)
    mask[:, :, 3:11, 5:13] = 1
    up = F.interpolate(scores, size=(16, 16), mode="bilinear", align_corners=True)
    k = torch.exp(-(torch.arange(71, dtype=torch.float64) - 35) ** 2 / 200)
    k = torch.outer(k, k) / k.sum() ** 2
    blurred = F.conv2d(mask, k[None, None], padding=35)
    assert float(loss(scores, False, True, mask=mask)) == \
        pytest_approx(float(((up - blurred) ** 2).mean()))
    assert float(loss(scores, True, True, mask=mask)) == pytest_approx(float(((up - 1) ** 2).mean()))
    assert float(loss(scores, True, False, mask=mask)) == pytest_approx(0.01 * float(((up - 1) ** 2).mean()))


def pytest_approx(value):
    return pytest.approx(value, rel=1e-10, abs=1e-12)


def test_aot_augmentations_rotate_crop_and_jitter_repeatably():
    from mgx.plugins.data.augment_transforms import ColorJitter, RandomResizedCrop, RandomRotation, rotate_image

    image = np.zeros((9, 9, 1), np.uint8)
    image[4, 6] = 200  # two pixels right of the centre turns to two pixels above it at 90° counter-clockwise
    assert rotate_image(image, 90.0)[2, 4, 0] == 200 and rotate_image(image, 90.0).sum() == 200
    rgb = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    sample = {"gt": rgb, "mask": rgb[:, :, :1].copy(), "sample_idx": 3, "seed": 1}
    pipeline = [RandomResizedCrop(keys=["gt"], crop_size=(8, 8)), RandomRotation(keys=["mask"], degrees=(0.0, 45.0)),
                ColorJitter(keys=["gt"], brightness=0.5, contrast=0.5, saturation=0.5, hue=0.5)]
    first, second = dict(sample), dict(sample)
    for transform in pipeline:
        first, second = transform(first), transform(second)
    assert first["gt"].shape == (8, 8, 3) and first["mask"].shape == (20, 24, 1)
    assert np.array_equal(first["gt"], second["gt"]) and np.array_equal(first["mask"], second["mask"])


def cli_options(tmp_path, monkeypatch, iterations=2):
    """The trial's data and sizes (48 px: the mask set, crops, the mask resize; benchmarks/zoo_data), batch 2,
    ``iterations``, no VGG download, no loader workers and the narrow widths; nothing else."""
    trial = prepare_trial(load_config(str(CONFIG)), tmp_path, Sizes(crop=48, image=48, count=3))
    for name, value in trial.env.items():
        monkeypatch.setenv(name, value)
    widths = ["model.encdec.encoder.mid_channels=4", "model.encdec.encoder.out_channels=8",
              "model.encdec.dilation_neck.in_channels=8", "model.encdec.dilation_neck.num_aotblock=1",
              "model.encdec.decoder.in_channels=8", "model.encdec.decoder.mid_channels=4",
              "model.disc.base_channels=4", "model.disc.num_conv=2"]
    workers = [f"{loader}.{key}" for loader in ("train_dataloader", "val_dataloader", "test_dataloader")
               for key in ("num_workers=0", "persistent_workers=False")]
    return trial.options + widths + workers + [
        f"train_cfg.max_iters={iterations}", f"train_cfg.val_interval={iterations}",
        "default_hooks.checkpoint.interval=2", "model.loss_composed_percep.pretrained=None"]


@pytest.mark.slow  # two `mgx run train`, two `mgx run test`, one of them with two worker processes
def test_config_trains_resumes_bit_identically_and_tests_alike_on_one_and_two_processes(tmp_path, monkeypatch):
    options = cli_options(tmp_path, monkeypatch, iterations=4)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    run_ok(["run", "train", str(CONFIG), "--work-dir", str(straight), "--no-track", "--deterministic",
            "--cfg-options", *options], tmp_path, monkeypatch)
    assert list((straight / "samples").glob("*.png"))  # masked input / completion / ground truth
    resumed.mkdir()
    (resumed / "iter_2.pth").write_bytes((straight / "iter_2.pth").read_bytes())
    run_ok(["run", "train", str(CONFIG), "--work-dir", str(resumed), "--no-track", "--deterministic",
            "--resume", str(resumed / "iter_2.pth"), "--cfg-options", *options], tmp_path, monkeypatch)
    expected, final = (torch.load(path / "iter_4.pth", weights_only=True) for path in (straight, resumed))
    for part in ("model", "optimizers"):
        assert_identical(final[part], expected[part], part)
    results = {name: evaluate_checkpoint(CONFIG, straight / "iter_4.pth", tmp_path / name, options, monkeypatch,
                                         launch) for name, launch in (("one", ()), ("two", ("--launcher", "dist",
                                                                                           "--gpus", "2")))}
    assert "2 process(es)" in "".join(path.read_text() for path in (tmp_path / "two").glob("*.log"))
    assert set(results["one"]) == set(results["two"]) == {"MAE", "PSNR", "SSIM"}
    for key, value in results["one"].items():  # per-image scores, averaged in another order
        assert results["two"][key] == pytest.approx(value, rel=1e-6, abs=1e-9), key

