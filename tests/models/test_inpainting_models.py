"""MMagic's inpainting models: state-dict keys and shapes as MMagic's definitions make them (recorded here
from reading global_local/*.py, pconv/*.py and archs/multi_layer_disc.py), MMagic checkpoints through
load_from, Global&Local's three-phase schedule, and one config per family through the CLI."""
import pytest
import torch

from mgx.benchmarks.zoo_data import Sizes, prepare_trial
from mgx.core.config import load_config
from mgx.core.engine.checkpoint import load_model_weights, weights_of
from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.registry import build

from gan_zoo_helpers import CONFIGS, train_and_test

CPU = torch.device("cpu")
BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
EVALUATOR = ("dict(type='Evaluator',metrics=[dict(type='MAE',mask_key='mask',scaling=100),dict(type='PSNR'),"
             "dict(type='SSIM')])")


def conv_keys(prefix, weight_shape, norm=True, bias=False, mask_updater=False):
    """MMCV ConvModule entries: conv.weight (+ conv.bias without a norm), bn.* with one, PConv's buffer."""
    keys = {f"{prefix}.conv.weight": weight_shape}
    if bias:
        keys[f"{prefix}.conv.bias"] = (weight_shape[0],)
    if mask_updater:
        keys[f"{prefix}.conv.weight_mask_updater"] = weight_shape
    if norm:
        channels = weight_shape[1] if len(weight_shape) == 4 and prefix.endswith(("dec3", "dec5")) and not \
            mask_updater else weight_shape[0]
        keys.update({f"{prefix}.bn.{name}": (() if name == "num_batches_tracked" else (channels,)) for name in BN})
    return keys


def mmagic_pconv_keys():
    """PConvEncoderDecoder(num_layers=5): enc1 7×7 no norm, enc2/3 5×5, enc4/5 3×3; decoder 3×3 convs on
    upsampled + skip channels, dec1 without norm (multi-channel masks: the updater has the weight's shape)."""
    keys = conv_keys("encoder.enc1", (64, 3, 7, 7), norm=False, bias=True, mask_updater=True)
    for index, shape in ((2, (128, 64, 5, 5)), (3, (256, 128, 5, 5)), (4, (512, 256, 3, 3)), (5, (512, 512, 3, 3))):
        keys.update(conv_keys(f"encoder.enc{index}", shape, mask_updater=True))
    for index, shape in ((5, (512, 1024, 3, 3)), (4, (256, 768, 3, 3)), (3, (128, 384, 3, 3)), (2, (64, 192, 3, 3))):
        keys.update(conv_keys(f"decoder.dec{index}", shape, mask_updater=True))
    keys.update(conv_keys("decoder.dec1", (3, 67, 3, 3), norm=False, bias=True, mask_updater=True))
    return keys


def mmagic_gl_keys():
    """base_gl.py (SyncBN): GLEncoder, GLDilationNeck, GLDecoder (dec3/dec5 transposed: in×out×4×4), GLDiscs
    with a 6-conv global and a 5-conv local MultiLayerDiscriminator, each ending in fc.linear (8192 → 1024)."""
    keys = {}
    for index, shape in enumerate([(64, 4, 5, 5), (128, 64, 3, 3), (128, 128, 3, 3), (256, 128, 3, 3),
                                   (256, 256, 3, 3), (256, 256, 3, 3)]):
        keys.update(conv_keys(f"generator.encoder.enc{index + 1}", shape))
    for index in range(4):
        keys.update(conv_keys(f"generator.dilation_neck.dilation_convs.{index}", (256, 256, 3, 3)))
    for index, shape in enumerate([(256, 256, 3, 3), (256, 256, 3, 3), (256, 128, 4, 4), (128, 128, 3, 3),
                                   (128, 64, 4, 4), (32, 64, 3, 3)]):
        keys.update(conv_keys(f"generator.decoder.dec{index + 1}", shape))
    keys.update(conv_keys("generator.decoder.dec7", (3, 32, 3, 3), norm=False, bias=True))
    disc_shapes = [(64, 3, 5, 5), (128, 64, 5, 5), (256, 128, 5, 5), (512, 256, 5, 5), (512, 512, 5, 5),
                   (512, 512, 5, 5)]
    for name, count in (("global_disc", 6), ("local_disc", 5)):
        for index in range(count):
            keys.update(conv_keys(f"disc.{name}.conv{index + 1}", disc_shapes[index]))
        keys.update({f"disc.{name}.fc.linear.weight": (1024, 8192), f"disc.{name}.fc.linear.bias": (1024,)})
    keys.update({"disc.fc.weight": (1, 2048), "disc.fc.bias": (1,)})
    return keys


def config_model(path, **train_cfg):
    cfg = load_config(str(path))["model"]
    cfg["train_cfg"] = dict(cfg.get("train_cfg") or {}, **train_cfg)
    return cfg


def shapes_of(module, prefixes):
    return {k: tuple(v.shape) for k, v in module.state_dict().items() if k.startswith(prefixes)}


def test_pconv_keys_are_mmagics():
    cfg = config_model(CONFIGS / "partial_conv" / "pconv_stage1_8xb1_celeba-256x256.py")
    cfg["encdec"]["encoder"]["num_layers"] = cfg["encdec"]["decoder"]["num_layers"] = 5
    cfg.update(loss_composed_percep=None, loss_out_percep=False)  # (VGG's keys are not the model's)
    model = build(cfg, "model")
    assert shapes_of(model.generator, ("encoder.", "decoder.")) == mmagic_pconv_keys()
    # the stage-2 configs freeze the encoder's BatchNorm (requires_grad=False, norm_eval=True)
    stage2 = config_model(CONFIGS / "partial_conv" / "pconv_stage2_4xb2_celeba-256x256.py")
    stage2.update(loss_composed_percep=None, loss_out_percep=False)
    stage2["encdec"]["encoder"]["num_layers"] = stage2["encdec"]["decoder"]["num_layers"] = 4
    frozen = build(stage2, "model").train()
    assert not frozen.generator.encoder.enc2.bn.weight.requires_grad and not frozen.generator.encoder.enc2.bn.training
    assert frozen.generator.decoder.dec2.bn.training


def test_gl_keys_are_mmagics_and_mmagic_checkpoints_load():
    model = build(config_model(CONFIGS / "global_local" / "gl_8xb12_celeba-256x256.py"), "model")
    assert shapes_of(model, ("generator.", "disc.")) == mmagic_gl_keys()
    state = {k: torch.randn(v) for k, v in mmagic_gl_keys().items() if not k.endswith("num_batches_tracked")}
    state.update({k: torch.tensor(3) for k in mmagic_gl_keys() if k.endswith("num_batches_tracked")})
    state.update({"data_preprocessor.mean": torch.full((3, 1, 1), 127.5), "data_preprocessor.std": torch.ones(3, 1, 1)})
    load_model_weights(model, weights_of({"meta": {"mmagic_version": "1.2.0"}, "state_dict": state}), "gl.pth")
    assert torch.equal(model.disc.local_disc.fc.linear.weight, state["disc.local_disc.fc.linear.weight"])
    assert int(model.cur_iter) == 0  # mgx's counter, absent from MMagic's checkpoint, keeps its value


def tiny_gl_batch(size=32):
    torch.manual_seed(0)
    gt = torch.randint(0, 256, (2, 3, size, size), dtype=torch.uint8)
    mask = torch.zeros(2, 1, size, size, dtype=torch.uint8)
    mask[:, :, 8:18, 10:20] = 1
    masked = gt.float() * (1 - mask) + 127.5 * mask
    boxes = [torch.tensor([8, 8]), torch.tensor([10, 10]), torch.tensor([10, 10]), torch.tensor([10, 10])]
    return {"inputs": masked, "gt_img": gt, "lq_img": masked, "mask": mask, "mask_bbox": boxes}


def test_gl_schedule_trains_generator_then_disc_then_both():
    cfg = config_model(CONFIGS / "global_local" / "gl_8xb12_celeba-256x256.py", iter_tc=0, iter_td=1,
                       local_size=(16, 16))
    for name in ("global_disc_cfg", "local_disc_cfg"):
        cfg["disc"][name]["fc_in_channels"] = 512
    model = build(cfg, "model")
    optim = build_optim_wrappers(dict(generator=dict(optimizer=dict(type="Adam", lr=4e-4)),
                                      disc=dict(optimizer=dict(type="Adam", lr=4e-4))), model, device=CPU, amp=False)
    batch = tiny_gl_batch()
    phases = []
    for _ in range(3):
        before = [p.detach().clone() for p in (model.generator.encoder.enc1.conv.weight, model.disc.fc.weight)]
        logged = model.train_step(batch, optim)
        after = (model.generator.encoder.enc1.conv.weight, model.disc.fc.weight)
        phases.append(tuple(not torch.equal(b, a) for b, a in zip(before, after)))
        assert all(torch.isfinite(v) for v in logged.values())
    assert phases == [(True, False), (False, True), (True, True)]  # i ≤ T_C; T_C < i ≤ T_D; i > T_D
    assert "loss_g_fake" in logged and int(model.cur_iter) == 3
    outputs = model.val_step(batch)
    hole = batch["mask"].bool().expand(-1, 3, -1, -1)
    torch.testing.assert_close(outputs["pred_img"][~hole], batch["inputs"][~hole], atol=1e-3, rtol=0)


@pytest.mark.parametrize("config,options", [
    ("global_local/gl_8xb12_celeba-256x256.py",
     ["model.disc.global_disc_cfg.fc_in_channels=512", "model.disc.local_disc_cfg.fc_in_channels=512",
      "model.train_cfg.local_size=(16,16)", "model.train_cfg.iter_tc=0", "model.train_cfg.iter_td=0"]),
    ("partial_conv/pconv_stage2_4xb2_places-256x256.py",
     ["model.encdec.encoder.num_layers=5", "model.encdec.decoder.num_layers=5",
      "model.loss_composed_percep.pretrained=None"]),
])
def test_mmagic_config_trains_and_tests(config, options, tmp_path, monkeypatch):
    # the trial's data and sizes (32 px: LoadMask's shapes, crop, resize; benchmarks/zoo_data), the fc / U-Net
    # depth that follow from the size, no VGG download (pretrained=None), no loader worker processes
    trial = prepare_trial(load_config(CONFIGS / config), tmp_path, Sizes(crop=32, image=32, count=3))
    for name, value in trial.env.items():
        monkeypatch.setenv(name, value)
    workers = [f"{loader}.{key}" for loader in ("train_dataloader", "val_dataloader", "test_dataloader")
               for key in ("num_workers=0", "persistent_workers=False")]
    metrics = train_and_test(CONFIGS / config, tmp_path, trial.options + options + workers + [
        f"val_evaluator={EVALUATOR}", f"test_evaluator={EVALUATOR}"], monkeypatch)
    assert set(metrics) == {"MAE", "PSNR", "SSIM"} and all(v == v for v in metrics.values())
