"""Contextual attention and gated convolution against float64 computations of their definitions
(loops over patches and positions; see plugins/models/ops/contextual_attention.py)."""
import numpy as np
import torch

from mgx.plugins.models.ops.contextual_attention import ContextualAttentionModule
from mgx.plugins.models.ops.gated_conv import SimpleGatedConvModule


def windows(image, k, stride, pad):
    """{(row, col): C×k×k window} of a C×H×W float64 array, zero-padded."""
    padded = np.pad(image, ((0, 0), (pad, pad), (pad, pad)))
    rows = (image.shape[1] + 2 * pad - k) // stride + 1
    cols = (image.shape[2] + 2 * pad - k) // stride + 1
    return {(r, c): padded[:, r * stride:r * stride + k, c * stride:c * stride + k] for r in range(rows)
            for c in range(cols)}, (rows, cols)


def fuse_reference(scores, h, w):
    """Σ over the diagonal (p + d, j + d), |d| ≤ 1, row-major numbering, then the same column-major."""
    count = h * w
    row_major = [(i // w, i % w) for i in range(count)]
    col_major = [(i % h, i // h) for i in range(count)]
    for order in (row_major, col_major):
        fused = {}
        for p in range(count):
            for j in range(count):
                fused[order[p], order[j]] = sum(scores[order[p + d], order[j + d]] for d in (-1, 0, 1)
                                                if 0 <= p + d < count and 0 <= j + d < count)
        scores = fused
    return scores


def contextual_attention_reference(x, context, mask, softmax_scale=10.0):
    """One sample, MMagic's default sizes (raw 4×4 stride 2, correlation 3×3, scale 1/2, fuse 3), float64."""
    x, context, mask = (np.asarray(t, dtype=np.float64) for t in (x, context, mask))
    x_small, context_small, mask_small = x[:, ::2, ::2], context[:, ::2, ::2], mask[:, ::2, ::2]
    patches, (h, w) = windows(context_small, 3, 1, 1)
    patches = {j: b / max(np.sqrt((b ** 2).sum()), 1e-4) for j, b in patches.items()}
    x_windows, _ = windows(x_small, 3, 1, 1)
    scores = {(p, j): (x_windows[p] * patches[j]).sum() for p in x_windows for j in patches}
    scores = fuse_reference(scores, h, w)
    mask_windows, _ = windows(mask_small, 3, 1, 1)
    attention = {}
    for p in x_windows:
        logits = {j: -np.inf if mask_windows[j].sum() > 0 else softmax_scale * scores[p, j] for j in patches}
        top = max(logits.values())
        total = sum(np.exp(v - top) for v in logits.values())
        attention.update({(j, p): np.exp(v - top) / total for j, v in logits.items()})
    raw, _ = windows(context, 4, 2, 1)
    out = np.zeros((context.shape[0], context.shape[1] + 2, context.shape[2] + 2))  # padded canvas
    coverage = np.zeros(out.shape[1:])
    for (pr, pc) in x_windows:
        rows, cols = slice(2 * pr, 2 * pr + 4), slice(2 * pc, 2 * pc + 4)
        out[:, rows, cols] += sum(attention[j, (pr, pc)] * raw[j] for j in patches)
        coverage[rows, cols] += 1
    out, coverage = out[:, 1:-1, 1:-1], coverage[1:-1, 1:-1]
    return out / np.maximum(coverage, 1), np.array([[attention[j, p] for p in sorted(x_windows)]
                                                    for j in sorted(patches)]).reshape(h, w, h, w)


def test_contextual_attention_matches_its_definition():
    torch.manual_seed(0)
    x, context = torch.randn(2, 3, 8, 10), torch.randn(2, 3, 8, 10)
    mask = torch.zeros(2, 1, 8, 10)
    mask[0, :, 2:6, 4:8] = 1
    mask[1, :, 0:2, 0:4] = 1
    out, attention = ContextualAttentionModule()(x, context, mask)
    assert out.shape == (2, 3, 8, 10) and attention.shape == (2, 4, 5, 4, 5)
    for sample in range(2):
        expected, expected_attention = contextual_attention_reference(x[sample], context[sample], mask[sample])
        np.testing.assert_allclose(attention[sample].numpy(), expected_attention, atol=1e-5)
        np.testing.assert_allclose(out[sample].numpy(), expected, rtol=1e-5, atol=1e-5)
        # no attention on a patch that touches the hole
        assert expected_attention[(mask[sample, 0, ::2, ::2].numpy() > 0)].sum() == 0


def test_gated_convolution_matches_its_definition():
    torch.manual_seed(1)
    module = SimpleGatedConvModule(3, 4, 3, stride=1, padding=2, dilation=2, norm_cfg=None)
    assert sorted(module.state_dict()) == ["conv.conv.bias", "conv.conv.weight"]
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    module = module.double()
    both = torch.nn.functional.conv2d(x, module.conv.conv.weight, module.conv.conv.bias, padding=2, dilation=2).detach()
    features, gates = both[:, :4].numpy(), both[:, 4:].numpy()
    expected = np.where(features > 0, features, np.expm1(features)) / (1 + np.exp(-gates))
    np.testing.assert_allclose(module(x).detach().numpy(), expected, rtol=1e-12, atol=1e-12)
