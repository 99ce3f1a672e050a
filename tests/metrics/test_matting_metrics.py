"""SAD, MattingMSE, GradientError and ConnectivityError against float64 computations of their published
definitions (Rhemann et al. 2009, as MMagic 1.2.0 evaluates them), written here loop by loop: random alphas,
and the edge cases of an all-unknown trimap, a trimap without unknown pixels, a constant alpha and a
perfect prediction."""
import math
from collections import deque

import numpy as np
import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.plugins.metrics.matting import SAD, ConnectivityError, GradientError, MattingMSE


def reference_sad(pred, gt, trimap):
    return sum(abs(p - g) for p, g in zip(pred.ravel(), gt.ravel())) / 1000


def reference_mse(pred, gt, trimap):
    unknown = sum(1 for t in trimap.ravel() if t == 128)
    return sum((p - g) ** 2 for p, g in zip(pred.ravel(), gt.ravel())) / unknown if unknown else 0.0


def gaussian_gradient(alpha, sigma=1.4, epsilon=1e-2):
    """|∇(G_σ * alpha)|: first-derivative-of-Gaussian kernels of MMagic's size, L2-normalised, correlated with
    the min-max normalised alpha whose border pixels repeat outwards."""
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * epsilon)))
    g = lambda x: math.exp(-x * x / (2 * sigma * sigma)) / (sigma * math.sqrt(2 * math.pi))  # noqa: E731
    size = 2 * half + 1
    kx = [[g(i - half) * (-(j - half) * g(j - half) / sigma ** 2) for j in range(size)] for i in range(size)]
    norm = math.sqrt(sum(v * v for row in kx for v in row))
    kx = [[v / norm for v in row] for row in kx]
    low, high = alpha.min(), alpha.max()
    alpha = (alpha - low) / (high - low) if high > low else np.zeros_like(alpha)
    h, w = alpha.shape
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            gx = gy = 0.0
            for i in range(size):
                for j in range(size):
                    value = alpha[min(max(y + i - half, 0), h - 1), min(max(x + j - half, 0), w - 1)]
                    gx += kx[i][j] * value
                    gy += kx[j][i] * value  # the y kernel is the transpose
            out[y, x] = math.sqrt(gx * gx + gy * gy)
    return out


def reference_gradient(pred, gt, trimap):
    difference = gaussian_gradient(gt) - gaussian_gradient(pred)
    return float(sum(d * d for d, t in zip(difference.ravel(), trimap.ravel()) if t == 128)) / 1000


def largest_4_connected(mask):
    """Breadth-first flood fill; the largest component, the first met in raster order among equals."""
    h, w = mask.shape
    seen, best = np.zeros_like(mask, dtype=bool), []
    for y in range(h):
        for x in range(w):
            if mask[y, x] and not seen[y, x]:
                component, queue = [], deque([(y, x)])
                seen[y, x] = True
                while queue:
                    cy, cx = queue.popleft()
                    component.append((cy, cx))
                    for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                        if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            queue.append((ny, nx))
                if len(component) > len(best):
                    best = component
    out = np.zeros_like(mask, dtype=bool)
    for y, x in best:
        out[y, x] = True
    return out


def reference_connectivity(pred, gt, trimap, step=0.1):
    thresholds = np.arange(0, 1 + step, step)
    level = np.full(gt.shape, -1.0)
    for k in range(1, len(thresholds)):
        component = largest_4_connected((gt >= thresholds[k]) & (pred >= thresholds[k]))
        for y, x in zip(*np.nonzero((level == -1) & ~component)):
            level[y, x] = thresholds[k - 1]
    level[level == -1] = 1
    total = 0.0
    for p, g, l, t in zip(pred.ravel(), gt.ravel(), level.ravel(), trimap.ravel()):
        if t == 128:
            phi_g = 1 - (g - l) * ((g - l) >= 0.15)
            phi_p = 1 - (p - l) * ((p - l) >= 0.15)
            total += abs(phi_g - phi_p)
    return total / 1000


METRICS = [(SAD, reference_sad, "SAD"), (MattingMSE, reference_mse, "MattingMSE"),
           (GradientError, reference_gradient, "GradientError"),
           (ConnectivityError, reference_connectivity, "ConnectivityError")]


def case(kind, seed, shape=(14, 11)):
    """(pred, gt, trimap) as uint8 H×W: the prediction masked by the trimap, as the models return it."""
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 256, shape)
    gt[rng.random(shape) < 0.25] = 0
    gt[rng.random(shape) < 0.25] = 255
    pred = np.clip(gt + rng.integers(-60, 61, shape), 0, 255)
    trimap = rng.choice([0, 128, 255], size=shape, p=[0.3, 0.4, 0.3])
    if kind == "all_unknown":
        trimap[:] = 128
    elif kind == "no_unknown":
        trimap[trimap == 128] = 0
    elif kind == "constant_alpha":
        gt[:] = 200
        trimap[:] = 128
    elif kind == "perfect":  # the ground truth agrees with the trimap, and the prediction with both
        gt[trimap == 0], gt[trimap == 255] = 0, 255
        pred = gt.copy()
    pred[trimap == 0], pred[trimap == 255] = 0, 255
    return pred.astype(np.uint8), gt.astype(np.uint8), trimap.astype(np.uint8)


def run_metric(metric, samples):
    metric.setup(None)
    for pred, gt, trimap in samples:  # one image per batch, as MMagic's test loaders give them
        tensor = lambda a: torch.from_numpy(a)[None, None]  # noqa: E731
        metric.process({"ori_alpha": tensor(gt), "ori_trimap": tensor(trimap)}, {"pred_alpha": tensor(pred).float()})
    return metric.compute()


@pytest.mark.parametrize("kind", ["random", "all_unknown", "no_unknown", "constant_alpha", "perfect"])
@pytest.mark.parametrize("metric_class,reference,key", METRICS, ids=[m[2] for m in METRICS])
def test_metric_equals_the_float64_definition(metric_class, reference, key, kind):
    samples = [case(kind, seed) for seed in (0, 1)]
    expected = np.mean([reference(p / 255.0, g / 255.0, t) for p, g, t in samples])
    value = run_metric(metric_class(), samples)[key]
    assert value == pytest.approx(expected, rel=1e-10, abs=1e-13)
    if kind == "perfect" or (kind == "no_unknown" and key != "SAD"):
        assert value == 0.0


def test_edge_cases_are_not_trivial():
    # the references see unknown pixels and differing alphas, so the equalities above are not 0 == 0
    pred, gt, trimap = case("all_unknown", 0)
    assert reference_gradient(pred / 255, gt / 255, trimap) > 0 and reference_connectivity(pred / 255, gt / 255,
                                                                                          trimap) > 0
    pred, gt, trimap = case("constant_alpha", 1)
    assert reference_gradient(pred / 255, gt / 255, trimap) > 0  # only the prediction has a gradient


def test_batched_images_and_the_trimap_fallback():
    samples = [case("random", seed) for seed in (2, 3, 4)]
    metric = SAD()
    metric.setup(None)
    stack = lambda i: torch.from_numpy(np.stack([s[i] for s in samples]))[:, None]  # noqa: E731
    metric.process({"gt_alpha": stack(1), "trimap": stack(2)}, {"pred_alpha": stack(0)})
    expected = np.mean([reference_sad(p / 255, g / 255, t) for p, g, t in samples])
    assert metric.compute()["SAD"] == pytest.approx(expected, rel=1e-12)


def test_clear_errors():
    metric = GradientError()
    metric.setup(None)
    with pytest.raises(ConfigError, match="pred_alpha"):
        metric.process({"ori_alpha": torch.zeros(1, 1, 4, 4)}, {"pred_img": torch.zeros(1, 3, 4, 4)})
    with pytest.raises(ConfigError, match="save_original_img"):
        metric.process({}, {"pred_alpha": torch.zeros(1, 1, 4, 4)})
    with pytest.raises(ConfigError, match="sigma"):
        GradientError(sigma=0)
