"""MMagic's DeepFill v1/v2: state-dict keys and shapes of the base configs (recorded from reading
deepfillv1/*.py, deepfillv2/two_stage_encoder_decoder.py, archs/gated_conv_module.py and
archs/multi_layer_disc.py), and two training iterations of each at 128 px (the smallest size their
reflect-padded dilation 16 takes at 1/4 resolution)."""
import torch

from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.registry import build

from gan_zoo_helpers import CONFIGS
from test_inpainting_models import config_model

CPU = torch.device("cpu")


def convs(prefix, shapes, gated=False):
    """ConvModule (no norm): conv.weight and conv.bias; a gated one holds a ConvModule of twice the
    outputs (conv.conv.*)."""
    keys = {}
    for name, (out, cin, k) in shapes.items():
        inner = f"{prefix}.{name}.conv.conv" if gated else f"{prefix}.{name}.conv"
        out = 2 * out if gated else out
        keys.update({f"{inner}.weight": (out, cin, k, k), f"{inner}.bias": (out,)})
    return keys


def encoder(channels, cin=5):
    shapes, kernels = {}, (5, 3, 3, 3, 3, 3)
    for index, (out, k) in enumerate(zip(channels, kernels)):
        shapes[f"enc{index + 1}"] = (out, cin, k)
        cin = out
    return shapes


def decoder(channels, cin):
    shapes = {}
    for index, out in enumerate(channels):
        shapes[f"dec{index + 1}"] = (out, cin, 3)
        cin = out
    return shapes


def neck(width):
    return {f"dilation_convs.{i}": (width, width, 3) for i in range(4)}


def mmagic_deepfill_generator(factor, gated):
    w = lambda c: int(c * factor)  # noqa: E731 (channel_factor)
    keys = convs("generator.stage1.encoder", encoder([w(c) for c in (32, 64, 64, 128, 128, 128)]), gated)
    keys.update(convs("generator.stage1.dilation_neck", neck(w(128)), gated))
    keys.update(convs("generator.stage1.decoder", decoder([w(c) for c in (128, 128, 64, 64, 32, 16)] + [3], w(128)),
                      gated))
    keys.update(convs("generator.stage2.encoder_attention", encoder([w(c) for c in (32, 32, 64, 128, 128, 128)]), gated))
    keys.update(convs("generator.stage2.encoder_conv", encoder([w(c) for c in (32, 32, 64, 64, 128, 128)]), gated))
    keys.update(convs("generator.stage2.contextual_attention_neck", {"conv1": (w(128), w(128), 3),
                                                                   "conv2": (w(128), w(128), 3)}, gated))
    keys["generator.stage2.contextual_attention_neck.contextual_attention.fuse_kernel"] = (1, 1, 3, 3)
    keys.update(convs("generator.stage2.dilation_neck", neck(w(128)), gated))
    # the refiner's decoder has no channel_factor in MMagic's v2 config: full widths on 2·w(128) inputs
    keys.update(convs("generator.stage2.decoder", decoder([128, 128, 64, 64, 32, 16, 3], 2 * w(128)), gated))
    return keys


def test_deepfillv1_keys_are_mmagics():
    model = build(config_model(CONFIGS / "deepfillv1" / "deepfillv1_4xb4_celeba-256x256.py"), "model")
    expected = mmagic_deepfill_generator(1.0, gated=False)
    for name, widths, fc in (("global_disc", (64, 128, 256, 256), 256 * 16 * 16),
                             ("local_disc", (64, 128, 256, 512), 512 * 8 * 8)):
        cin = 3
        for index, out in enumerate(widths):
            expected.update(convs(f"disc.{name}", {f"conv{index + 1}": (out, cin, 5)}))
            cin = out
        expected.update({f"disc.{name}.fc.linear.weight": (1, fc), f"disc.{name}.fc.linear.bias": (1,)})
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith(("generator.", "disc."))}
    assert shapes == expected


def test_deepfillv2_keys_are_mmagics():
    model = build(config_model(CONFIGS / "deepfillv2" / "deepfillv2_8xb2_celeba-256x256.py"), "model")
    expected = mmagic_deepfill_generator(0.75, gated=True)
    cin = 4
    for index, out in enumerate((64, 128, 256, 256, 256, 256)):  # spectral norm: weight_orig, u, v
        prefix = f"disc.conv{index + 1}.conv"
        expected.update({f"{prefix}.weight_orig": (out, cin, 5, 5), f"{prefix}.bias": (out,),
                         f"{prefix}.weight_u": (out,), f"{prefix}.weight_v": (cin * 25,)})
        cin = out
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith(("generator.", "disc."))}
    assert shapes == expected


def batch_128(count=1):
    torch.manual_seed(0)
    gt = torch.randint(0, 256, (count, 3, 128, 128), dtype=torch.uint8)
    mask = torch.zeros(count, 1, 128, 128, dtype=torch.uint8)
    mask[:, :, 40:64, 30:54] = 1
    masked = gt.float() * (1 - mask) + 127.5 * mask
    boxes = [torch.tensor([40] * count), torch.tensor([30] * count), torch.tensor([24] * count),
             torch.tensor([24] * count)]
    return {"inputs": masked, "gt_img": gt, "mask": mask, "mask_bbox": boxes}


def narrowed(cfg, factor=0.25):
    """The generator at ``factor`` of MMagic's widths (channel_factor, and the in_channels that follow)."""
    width = int(128 * factor)
    stage1, stage2 = cfg["encdec"]["stage1"], cfg["encdec"]["stage2"]
    for part in (stage1["encoder"], stage2["encoder_attention"], stage2["encoder_conv"]):
        part["channel_factor"] = factor
    stage1["decoder"].update(channel_factor=factor, in_channels=width)
    stage2["decoder"].update(channel_factor=factor, in_channels=2 * width)
    for part in (stage1["dilation_neck"], stage2["dilation_neck"], stage2["contextual_attention"]):
        part["in_channels"] = width
    return cfg


def two_iterations(cfg):
    model = build(narrowed(cfg), "model")
    optim = build_optim_wrappers(dict(generator=dict(optimizer=dict(type="Adam", lr=1e-4)),
                                      disc=dict(optimizer=dict(type="Adam", lr=1e-4))), model, device=CPU, amp=False)
    batch = batch_128()
    logs = [model.train_step(batch, optim) for _ in range(2)]
    outputs = model.val_step(batch)
    hole = batch["mask"].bool().expand(-1, 3, -1, -1)
    torch.testing.assert_close(outputs["pred_img"][~hole], batch["inputs"][~hole], atol=1e-3, rtol=0)
    return model, logs


def test_deepfillv1_trains_with_global_and_local_critics():
    cfg = config_model(CONFIGS / "deepfillv1" / "deepfillv1_4xb4_celeba-256x256.py", local_size=(32, 32))
    # narrow critics (64 channels) at 128 px and on 32-px patches
    cfg["disc"]["global_disc_cfg"].update(max_channels=64, fc_in_channels=64 * 8 * 8)
    cfg["disc"]["local_disc_cfg"].update(max_channels=64, fc_in_channels=64 * 2 * 2)
    model, logs = two_iterations(cfg)
    # disc_step=2: the critics learn every iteration (WGAN-GP on each), the generator every second one
    assert {"loss_gp_global", "loss_gp_local", "fake_loss_local"} <= set(logs[0]) and "stage2_loss_g_fake" not in logs[0]
    assert {"stage1_loss_l1_hole", "stage2_loss_l1_valid", "stage2_loss_g_fake"} <= set(logs[1])
    assert int(model.disc_step_count) == 0


def test_deepfillv2_trains_with_gated_convolutions():
    cfg = config_model(CONFIGS / "deepfillv2" / "deepfillv2_8xb2_celeba-256x256.py")
    _, logs = two_iterations(cfg)
    assert all({"real_loss", "fake_loss", "stage2_loss_g_fake", "stage1_loss_l1_hole"} <= set(log) for log in logs)
    assert all(torch.isfinite(value) for log in logs for value in log.values())
