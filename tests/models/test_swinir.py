"""SwinIR: window attention, shifted-window masks and pixel shuffle against float64 re-computations of their
definitions; MMagic 1.2.0's parameter counts and state-dict keys; each reconstruction head's shapes."""
import numpy as np
import pytest
import torch

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build
from mgx.plugins.models.ops.window_attention import (MASKED_LOGIT, WindowAttention, shifted_window_mask,
                                                     window_partition, window_reverse)
from mgx.plugins.models.swinir.blocks import SwinTransformerBlock, Upsample

CLASSICAL = dict(type="SwinIRNet", in_chans=3, img_size=48, window_size=8, img_range=1.0, depths=[6] * 6,
                 embed_dim=180, num_heads=[6] * 6, mlp_ratio=2, upsampler="pixelshuffle", resi_connection="1conv",
                 upscale=2)

# Parameter counts summed by hand from MMagic 1.2.0's definitions (swinir_net.py, swinir_rstb.py,
# swinir_modules.py) for the published configs; e.g. classical ×2: per Swin block 2·180 (norm1) +
# 15²·6 (bias table) + 180·540+540 (qkv) + 180²+180 (proj) + 2·180 (norm2) + 180·360+360 + 360·180+180 (mlp)
# = 262530; per RSTB 6 blocks + a 3×3 conv (291780); six RSTBs + conv_first + two norms + conv_after_body +
# conv_before_upsample + one ×2 pixel-shuffle conv + conv_last = 11752487.
PUBLISHED = {
    "swinir_x2s48w8d6e180 (classical, pixelshuffle)": ({}, 11752487),
    "swinir_x2s64w8d4e60 (lightweight, pixelshuffledirect)": (
        dict(img_size=64, depths=[6] * 4, num_heads=[6] * 4, embed_dim=60, upsampler="pixelshuffledirect"), 910152),
    "swinir_psnr-x4s64w8d9e240 (real-world, nearest+conv, 3conv)": (
        dict(img_size=64, depths=[6] * 9, num_heads=[8] * 9, embed_dim=240, resi_connection="3conv",
             upsampler="nearest+conv", upscale=4), 28013059),
    "swinir_s128w8d6e180 grayDN (denoising)": (dict(in_chans=1, upscale=1, upsampler="", img_size=128), 11497681),
    "swinir_s126w7d6e180 colorCAR (JPEG)": (
        dict(upscale=1, upsampler="", img_size=126, window_size=7, img_range=255.0), 11492067),
}

# The generator's state dict MMagic 1.2.0's SwinIRNet has for TINY (read from its definitions: PatchEmbed
# keeps only its norm, RSTB's patch (un)embed hold nothing, shifted blocks store attn_mask, every window
# attention its relative_position_index; the RGB mean is a plain attribute).
TINY = dict(type="SwinIRNet", in_chans=3, img_size=16, window_size=8, img_range=1.0, depths=[2], embed_dim=8,
            num_heads=[2], mlp_ratio=2, upsampler="pixelshuffle", resi_connection="1conv", upscale=2)


def _block_keys(index: int, shifted: bool) -> dict:
    prefix = f"layers.0.residual_group.blocks.{index}."
    keys = {"norm1.weight": (8,), "norm1.bias": (8,), "attn.relative_position_bias_table": (225, 2),
            "attn.relative_position_index": (64, 64), "attn.qkv.weight": (24, 8), "attn.qkv.bias": (24,),
            "attn.proj.weight": (8, 8), "attn.proj.bias": (8,), "norm2.weight": (8,), "norm2.bias": (8,),
            "mlp.fc1.weight": (16, 8), "mlp.fc1.bias": (16,), "mlp.fc2.weight": (8, 16), "mlp.fc2.bias": (8,)}
    if shifted:
        keys["attn_mask"] = (4, 64, 64)
    return {prefix + k: v for k, v in keys.items()}


MMAGIC_TINY_KEYS = {
    "conv_first.weight": (8, 3, 3, 3), "conv_first.bias": (8,), "patch_embed.norm.weight": (8,),
    "patch_embed.norm.bias": (8,), **_block_keys(0, False), **_block_keys(1, True),
    "layers.0.conv.weight": (8, 8, 3, 3), "layers.0.conv.bias": (8,), "norm.weight": (8,), "norm.bias": (8,),
    "conv_after_body.weight": (8, 8, 3, 3), "conv_after_body.bias": (8,),
    "conv_before_upsample.0.weight": (64, 8, 3, 3), "conv_before_upsample.0.bias": (64,),
    "upsample.0.weight": (256, 64, 3, 3), "upsample.0.bias": (256,), "conv_last.weight": (3, 64, 3, 3),
    "conv_last.bias": (3,),
}


def mmagic_layout_checkpoint(seed: int = 0) -> dict:
    """A checkpoint as MMagic saves a BaseEditModel with TINY's generator (random values, MMagic's keys)."""
    generator = torch.Generator().manual_seed(seed)
    weights = {}
    for key, shape in MMAGIC_TINY_KEYS.items():
        if key.endswith("relative_position_index"):
            weights[key] = torch.randint(0, 225, shape, generator=generator)
        else:
            weights[key] = torch.randn(shape, generator=generator) * 0.05
    return {"meta": {"mmagic_version": "1.2.0"}, "state_dict": {f"generator.{k}": v for k, v in weights.items()}}


def _attention_reference(x, attn, mask):
    """Window attention by its definition, one window / head / token pair at a time, in float64."""
    x = x.double().numpy()
    qkv_w, qkv_b = attn.qkv.weight.double().detach().numpy(), attn.qkv.bias.double().detach().numpy()
    proj_w, proj_b = attn.proj.weight.double().detach().numpy(), attn.proj.bias.double().detach().numpy()
    table = attn.relative_position_bias_table.double().detach().numpy()
    wh, ww = attn.window_size
    heads, (windows, tokens, channels) = attn.num_heads, x.shape
    dim = channels // heads
    out = np.zeros_like(x)
    for w in range(windows):
        q, k, v = np.split(x[w] @ qkv_w.T + qkv_b, 3, axis=-1)
        merged = np.zeros((tokens, channels))
        for h in range(heads):
            part = slice(h * dim, (h + 1) * dim)
            logits = np.empty((tokens, tokens))
            for i in range(tokens):
                for j in range(tokens):
                    (ri, ci), (rj, cj) = divmod(i, ww), divmod(j, ww)
                    bias = table[(ri - rj + wh - 1) * (2 * ww - 1) + (ci - cj + ww - 1), h]
                    logits[i, j] = q[i, part] @ k[j, part] * dim ** -0.5 + bias
                    if mask is not None:
                        logits[i, j] += mask[w % mask.shape[0], i, j]
            weights = np.exp(logits - logits.max(axis=1, keepdims=True))
            merged[:, part] = (weights / weights.sum(axis=1, keepdims=True)) @ v[:, part]
        out[w] = merged @ proj_w.T + proj_b
    return out


def test_window_attention_matches_its_definition():
    torch.manual_seed(0)
    attn = WindowAttention(8, (3, 2), num_heads=2)
    x = torch.randn(4, 6, 8)
    mask = torch.where(torch.rand(2, 6, 6) < 0.3, MASKED_LOGIT, 0.0)
    for m in (None, mask):
        expected = _attention_reference(x, attn, None if m is None else m.double().numpy())
        np.testing.assert_allclose(attn(x, m).detach().double().numpy(), expected, rtol=1e-4, atol=1e-5)


def test_shifted_window_mask_separates_wrapped_tokens():
    """Two tokens of a rolled window attend iff, on each axis, both or neither came around the border."""
    height, width, window, shift = 8, 12, 4, 2
    mask = shifted_window_mask(height, width, window, shift)
    assert mask.shape == ((height // window) * (width // window), window * window, window * window)
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    wrapped = torch.stack([rows >= height - shift, cols >= width - shift], -1).float()
    per_window = window_partition(wrapped[None], window).reshape(-1, window * window, 2)
    same = (per_window[:, :, None, :] == per_window[:, None, :, :]).all(-1)
    assert torch.equal(mask == 0, same) and torch.equal(mask != 0, mask == MASKED_LOGIT)
    image = torch.randn(2, height, width, 3)
    assert torch.equal(window_reverse(window_partition(image, window), window, height, width), image)


def test_shifted_block_equals_attention_over_rolled_windows():
    """A shifted Swin block = roll, masked window attention by its definition, roll back, residual MLP."""
    torch.manual_seed(1)
    block = SwinTransformerBlock(6, (8, 8), num_heads=2, window_size=4, shift_size=2, mlp_ratio=2).eval()
    x = torch.randn(1, 64, 6)
    with torch.no_grad():
        image = block.norm1(x).view(1, 8, 8, 6).roll((-2, -2), (1, 2))
        windows = window_partition(image, 4).reshape(-1, 16, 6)
        attended = _attention_reference(windows, block.attn, shifted_window_mask(8, 8, 4, 2).double().numpy())
        back = window_reverse(torch.from_numpy(attended).view(-1, 4, 4, 6), 4, 8, 8).roll((2, 2), (1, 2))
        mid = x.double() + back.reshape(1, 64, 6)
        expected = mid + block.mlp.double()(block.norm2.double()(mid))
        block.float()
        np.testing.assert_allclose(block(x, (8, 8)).double().numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
        # a size other than the training resolution computes its own mask
        assert block(torch.randn(1, 12 * 8, 6), (12, 8)).shape == (1, 96, 6)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_pixel_shuffle_upsample_matches_its_definition(scale):
    torch.manual_seed(scale)
    up = Upsample(scale, 4).double()
    x = torch.randn(1, 4, 3, 5, dtype=torch.float64)
    feats = x
    steps = [(up[i], up[i + 1].upscale_factor) for i in range(0, len(up), 2)]
    for conv, factor in steps:  # out[c, h·r+i, w·r+j] = conv[c·r² + i·r + j, h, w]
        conv_out = conv(feats).detach().numpy()[0]
        channels, height, width = conv_out.shape[0] // factor ** 2, *conv_out.shape[1:]
        out = np.empty((channels, height * factor, width * factor))
        for c in range(channels):
            for i in range(factor):
                for j in range(factor):
                    out[c, i::factor, j::factor] = conv_out[c * factor ** 2 + i * factor + j]
        feats = torch.from_numpy(out)[None]
    np.testing.assert_allclose(up(x).detach().numpy(), feats.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameter_count_equals_mmagics(name):
    overrides, count = PUBLISHED[name]
    with torch.device("meta"):
        net = build({**CLASSICAL, **overrides}, "model")
    assert sum(p.numel() for p in net.parameters()) == count


def test_state_dict_keys_and_shapes_are_mmagics():
    net = build(TINY, "model")
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == MMAGIC_TINY_KEYS
    model = build(dict(type="BaseEditModel", generator=TINY, pixel_loss=dict(type="L1Loss")), "model")
    from mgx.core.engine.checkpoint import load_model_weights, weights_of

    checkpoint = mmagic_layout_checkpoint()
    load_model_weights(model, weights_of(checkpoint), "mmagic-layout")
    assert torch.equal(model.generator.conv_last.weight, checkpoint["state_dict"]["generator.conv_last.weight"])


@pytest.mark.parametrize("upsampler, scale", [("pixelshuffle", 3), ("pixelshuffledirect", 4), ("nearest+conv", 2),
                                              ("nearest+conv", 4), ("", 1), (None, 1)])
def test_every_head_pads_to_the_window_and_crops_back(upsampler, scale):
    net = build(dict(TINY, upsampler=upsampler, upscale=scale, window_size=4, img_size=8), "model")
    assert net(torch.rand(2, 3, 10, 13)).shape == (2, 3, 10 * scale, 13 * scale)


def test_denoising_head_adds_to_the_input_and_gray_has_no_mean():
    net = build(dict(TINY, in_chans=1, upsampler="", upscale=1, img_range=255.0), "model")
    torch.nn.init.zeros_(net.conv_last.weight)
    torch.nn.init.zeros_(net.conv_last.bias)
    x = torch.rand(1, 1, 16, 16)
    torch.testing.assert_close(net(x), x)
    with pytest.raises(MgxError, match="in_chans=1"):
        net(torch.rand(1, 3, 16, 16))


@pytest.mark.parametrize("change, match", [(dict(num_heads=[3]), "divisible"), (dict(depths=[2, 2]), "depths"),
                                           (dict(upsampler="bicubic"), "upsampler"),
                                           (dict(upsampler="nearest+conv", upscale=3), "nearest"),
                                           (dict(upscale=5), "upscale"), (dict(resi_connection="2conv"), "resi"),
                                           (dict(img_size=20), "multiple of window_size=8")])
def test_bad_arguments_are_config_errors(change, match):
    with pytest.raises(ConfigError, match=match):
        build(dict(TINY, **change), "model")
