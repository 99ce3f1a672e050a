"""EG3D (MMagic 1.2.0's three conversion configs): MMagic's state-dict keys and parameter counts, the
renderer, rays and importance sampling against float64 statements of their definitions, cameras, the
dataset's camera labels for ``need_cond_input``, and ``mgx run test`` of the ShapeNet config at tiny width
on a checkpoint in MMagic's layout."""
import json
import math
import types

import numpy as np
import pytest
import torch

from mgx.core.evaluation.metric import MetricContext
from mgx.core.registry import build
from mgx.plugins.models.eg3d.camera import GaussianCamera, UniformCamera
from mgx.plugins.models.eg3d.rays import inverse_transform_sampling, sample_rays
from mgx.plugins.models.eg3d.renderer import EG3DRenderer
from mgx.plugins.models.stylegan2.checkpoint import convert_mmagic_state_dict

from gan_zoo_helpers import CONFIGS, evaluate_checkpoint, tiny_metric_options

# -- MMagic's keys, read from its eg3d_generator.py, eg3d_modules.py, renderer.py and StyleGAN2's generator
# and modules (equalized-LR weights as ``weight_orig``, linear layers under ``.linear``, FIR kernels as buffers)


def _style_conv(prefix, cin, cout, style, kernel, upsample):
    keys = {f"{prefix}.conv.weight_orig": (1, cout, cin, kernel, kernel),
            f"{prefix}.conv.style_modulation.linear.weight_orig": (cin, style),
            f"{prefix}.conv.style_modulation.bias": (cin,)}
    if kernel == 3:
        keys.update({f"{prefix}.noise_injector.weight": (1,), f"{prefix}.activate.bias": (cout,)})
        if upsample:
            keys[f"{prefix}.conv.blur.kernel"] = (4, 4)
    else:  # a ModulatedToRGB
        keys[f"{prefix}.bias"] = (1, cout, 1, 1)
        if upsample:
            keys[f"{prefix}.upsample.kernel"] = (4, 4)
    return keys


def mmagic_generator_shapes(out_size, noise=512, style=512, cond=25, num_mlps=8, triplane_size=256,
                            triplane_channels=32, sr_in_size=64, sr_in_channels=32, sr_hidden=128, sr_out=64,
                            decoder_hidden=64, channel_max=512):
    """MMagic's TriplaneGenerator state dict: key -> shape."""
    width = lambda r: min(2 * 16384 // r, channel_max) if r > 32 else channel_max  # noqa: E731 (its table)
    planes = 3 * triplane_channels
    keys = {"backbone.embed.linear.weight_orig": (style, cond), "backbone.embed.bias": (style,),
            "backbone.w_avg": (style,), "backbone.constant_input.input": (1, width(4), 4, 4)}
    for index in range(num_mlps):
        keys[f"backbone.style_mapping.{index}.linear.weight_orig"] = (style, noise + style if index == 0 else style)
        keys[f"backbone.style_mapping.{index}.bias"] = (style,)
    keys.update(_style_conv("backbone.conv1", width(4), width(4), style, 3, False))
    keys.update(_style_conv("backbone.to_rgb1", width(4), planes, style, 1, False))
    log_size = int(math.log2(triplane_size))
    for res in range(3, log_size + 1):
        cin, cout, k = width(2 ** (res - 1)), width(2 ** res), res - 3
        keys.update(_style_conv(f"backbone.convs.{2 * k}", cin, cout, style, 3, True))
        keys.update(_style_conv(f"backbone.convs.{2 * k + 1}", cout, cout, style, 3, False))
        keys.update(_style_conv(f"backbone.to_rgbs.{k}", cout, planes, style, 1, True))
    for index in range(2 * log_size - 3):
        side = 2 ** ((index + 5) // 2)
        keys[f"backbone.injected_noise_{index}"] = (1, 1, side, side)
    keys.update({"renderer.decoder.net.0.weight": (decoder_hidden, triplane_channels),
                 "renderer.decoder.net.0.bias": (decoder_hidden,),
                 "renderer.decoder.net.2.weight": (1 + sr_in_channels, decoder_hidden),
                 "renderer.decoder.net.2.bias": (1 + sr_in_channels,)})
    hidden_size = sr_in_size * 2 if out_size // sr_in_size in (4, 8) else sr_in_size
    for block, cin, cout, upsample in (("block0", sr_in_channels, sr_hidden, hidden_size > sr_in_size),
                                       ("block1", sr_hidden, sr_out, out_size > hidden_size)):
        keys.update(_style_conv(f"sr_model.{block}.conv0", cin, cout, style, 3, upsample))
        keys.update(_style_conv(f"sr_model.{block}.conv1", cout, cout, style, 3, False))
        keys.update(_style_conv(f"sr_model.{block}.to_rgb", cout, 3, style, 1, upsample))
    return keys


def parameter_count(shapes):
    buffers = ("kernel", "w_avg", "injected_noise")
    return sum(math.prod(shape) for key, shape in shapes.items() if not any(b in key for b in buffers))


PUBLISHED = {  # config -> (TriplaneGenerator arguments, MMagic's parameter count)
    "afhq-512x512": (dict(out_size=512, num_mlps=2, sr_in_size=128), 29_587_512),
    "ffhq-512x512": (dict(out_size=512, num_mlps=2, sr_in_size=128, sr_hidden_channels=256, sr_out_channels=128),
                     30_662_136),
    "shapenet-128x128": (dict(out_size=128, sr_in_size=64), 31_163_448),
}


def _mgx_model(generator_args, **extra):
    renderer = {"ray_start": 2.25, "ray_end": 3.3, **extra.pop("renderer", {})}
    return build(dict(type="EG3D", generator=dict(type="TriplaneGenerator", renderer_cfg=renderer,
                                                  **generator_args, **extra)), "model")


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_models_have_mmagics_keys_shapes_and_parameter_count(name):
    args, count = PUBLISHED[name]
    shapes = mmagic_generator_shapes(args["out_size"], num_mlps=args.get("num_mlps", 8), sr_in_size=args["sr_in_size"],
                                     sr_hidden=args.get("sr_hidden_channels", 128),
                                     sr_out=args.get("sr_out_channels", 64))
    assert parameter_count(shapes) == count
    with torch.device("meta"):  # shapes only: no memory, no random draws
        generator = build(dict(type="TriplaneGenerator", renderer_cfg=dict(ray_start=2.25, ray_end=3.3), **args),
                          "model")
    assert sum(p.numel() for p in generator.parameters()) == count
    mmagic = {f"generator.{key}": torch.empty(shape, device="meta") for key, shape in shapes.items()}
    converted = _mgx_model(TINY).adapt_loaded_weights(mmagic)
    mine = {f"generator.{key}": value for key, value in generator.state_dict().items()}
    assert sorted(converted) == sorted(mine)
    assert all(converted[key].shape == mine[key].shape for key in mine)


TINY = dict(out_size=16, noise_size=8, style_channels=8, num_mlps=2, triplane_size=16, triplane_channels=4,
            sr_in_size=8, sr_in_channels=4, sr_hidden_channels=4, sr_out_channels=4, neural_rendering_resolution=8,
            channel_max=4)
TINY_SHAPES = dict(noise=8, style=8, num_mlps=2, triplane_size=16, triplane_channels=4, sr_in_size=8,
                   sr_in_channels=4, sr_hidden=4, sr_out=4, decoder_hidden=8, channel_max=4)


def mmagic_checkpoint_of(model):
    """``model``'s weights under MMagic's names (the tiny layout), FIR kernels included."""
    from mgx.plugins.models.ops.style_ops import make_kernel

    mine = model.state_dict()
    state = {}
    for key, shape in mmagic_generator_shapes(16, **TINY_SHAPES).items():
        key = f"generator.{key}"
        if key.endswith(".kernel"):
            state[key] = make_kernel([1, 3, 3, 1], 4.0)
            continue
        mgx_key = next(iter(convert_mmagic_state_dict({key: None})))
        state[key] = mine[mgx_key].clone()
        assert tuple(state[key].shape) == shape, key
    return state


def test_a_checkpoint_in_mmagics_layout_loads_and_renders_the_same():
    decoder = dict(renderer=dict(decoder_cfg=dict(hidden_channels=8), depth_resolution=4,
                                 depth_resolution_importance=4))
    source = _mgx_model(TINY, **decoder)
    target = _mgx_model(TINY, **decoder)
    target.load_state_dict(target.adapt_loaded_weights(mmagic_checkpoint_of(source)))
    camera = UniformCamera(horizontal_mean=3.1, horizontal_std=3.1, vertical_mean=1.5, vertical_std=1.5,
                           focal=1.025, up=[0, 0, 1], radius=1.2)
    cond = torch.cat([camera.sample_camera2world(batch_size=2).reshape(2, -1),
                      camera.sample_intrinsic(batch_size=2).reshape(2, -1)], dim=1)
    noise = torch.randn(2, 8)
    outputs = []
    for model in (source, target):
        torch.manual_seed(1)
        outputs.append(model.generator(noise, cond, randomize_noise=False))
    assert outputs[0]["fake_img"].shape == (2, 3, 16, 16) and outputs[0]["depth"].shape == (2, 1, 8, 8)
    assert torch.equal(outputs[0]["fake_img"], outputs[1]["fake_img"])


def _softplus(x):
    return math.log1p(math.exp(x))


@pytest.mark.parametrize("white_back", [False, True])
def test_volume_rendering_matches_a_float64_statement_of_its_definition(white_back):
    renderer = EG3DRenderer(dict(in_channels=4, out_channels=3), ray_start=1.0, ray_end=2.0,
                            white_back=white_back).double()
    generator = torch.Generator().manual_seed(3)
    colors = torch.rand(1, 2, 6, 3, generator=generator, dtype=torch.float64)
    densities = torch.randn(1, 2, 6, 1, generator=generator, dtype=torch.float64) * 3
    depths = torch.sort(torch.rand(1, 2, 6, 1, generator=generator, dtype=torch.float64) + 1, dim=2).values
    rgb, depth, _ = renderer.volume_rendering(colors, densities, depths)
    for ray in range(2):
        c, s, z = colors[0, ray].tolist(), densities[0, ray, :, 0].tolist(), depths[0, ray, :, 0].tolist()
        transmittance, total, feature, weighted_depth = 1.0, 0.0, [0.0] * 3, 0.0
        for i in range(5):
            alpha = 1 - math.exp(-_softplus((s[i] + s[i + 1]) / 2 - 1) * (z[i + 1] - z[i]))
            weight = alpha * transmittance
            transmittance *= 1 - alpha + 1e-10
            total += weight
            feature = [f + weight * (a + b) / 2 for f, a, b in zip(feature, c[i], c[i + 1])]
            weighted_depth += weight * (z[i] + z[i + 1]) / 2
        expected = [(f + (1 - total if white_back else 0)) * 2 - 1 for f in feature]
        np.testing.assert_allclose(rgb[0, ray].numpy(), expected, rtol=1e-12, atol=1e-12)
        expected_depth = min(max(weighted_depth / total, depths.min().item()), depths.max().item())
        assert abs(depth[0, ray, 0].item() - expected_depth) < 1e-12


def _bilinear(plane, u, v):
    """Plane C×H×W at grid coordinates (u, v) in [-1, 1] (align_corners=False, zero outside)."""
    channels, height, width = plane.shape
    x, y = ((u + 1) * width - 1) / 2, ((v + 1) * height - 1) / 2
    x0, y0 = math.floor(x), math.floor(y)
    value = np.zeros(channels)
    for xi, wx in ((x0, x0 + 1 - x), (x0 + 1, x - x0)):
        for yi, wy in ((y0, y0 + 1 - y), (y0 + 1, y - y0)):
            if 0 <= xi < width and 0 <= yi < height:
                value += wx * wy * plane[:, yi, xi]
    return value


def test_tri_plane_features_are_bilinear_samples_of_eg3ds_projections():
    renderer = EG3DRenderer(dict(in_channels=2), ray_start=1.0, ray_end=2.0, box_warp=1.6)
    generator = torch.Generator().manual_seed(5)
    planes = torch.randn(2, 3, 2, 5, 7, generator=generator, dtype=torch.float64)
    points = (torch.rand(2, 4, 3, generator=generator, dtype=torch.float64) - 0.5) * 1.9  # some outside the box
    features = renderer.sample_from_planes(planes, points, box_warp=1.6)
    for n in range(2):
        for m in range(4):
            x, y, z = (2 / 1.6 * points[n, m]).tolist()
            for plane, (u, v) in enumerate(((x, y), (x, z), (z, x))):  # EG3D's published projections
                np.testing.assert_allclose(features[n, plane, m].numpy(), _bilinear(planes[n, plane].numpy(), u, v),
                                           rtol=1e-10, atol=1e-12)


def test_rays_go_from_the_camera_through_each_pixel_centre():
    camera = GaussianCamera(horizontal_mean=1.2, vertical_mean=1.4, horizontal_std=0.3, vertical_std=0.2,
                            radius=2.7, fov=18.837, look_at=[0, 0, 0.2])
    cam2world = camera.sample_camera2world(batch_size=2).double()
    intrinsics = camera.sample_intrinsic(batch_size=2).double()
    origin = cam2world[:, :3, 3]
    # on the sphere of radius 2.7 around the world's origin (as MMagic's camera), looking at look_at
    assert torch.allclose(origin.norm(dim=1), torch.full((2,), 2.7, dtype=torch.float64), atol=1e-5)
    forward = torch.nn.functional.normalize(torch.tensor([0, 0, 0.2], dtype=torch.float64) - origin, dim=1)
    assert torch.allclose(cam2world[:, :3, 2], forward, atol=1e-5)  # the camera looks at look_at
    origins, directions = sample_rays(cam2world, intrinsics, 4)
    focal = 1 / (math.tan(18.837 * math.pi / 360) * 1.414)
    matrix, position = cam2world.numpy(), origin.numpy()
    for n in range(2):
        for row in range(4):
            for col in range(4):
                lifted = np.array([((col + 0.5) / 4 - 0.5) / focal, ((row + 0.5) / 4 - 0.5) / focal, 1.0])
                direction = matrix[n, :3, :3] @ lifted
                np.testing.assert_allclose(directions[n, row * 4 + col].numpy(), direction / np.linalg.norm(direction),
                                           rtol=1e-6, atol=1e-6)
                np.testing.assert_allclose(origins[n, row * 4 + col].numpy(), position[n])


def test_importance_sampling_inverts_the_cdf_of_the_weights():
    generator = torch.Generator().manual_seed(7)
    bins = torch.sort(torch.rand(3, 6, generator=generator, dtype=torch.float64), dim=1).values
    weights = torch.rand(3, 5, generator=generator, dtype=torch.float64)
    samples = inverse_transform_sampling(bins, weights, 9, deterministic=True)
    for ray in range(3):
        w = weights[ray].numpy() + 1e-5
        cdf = np.concatenate([[0.0], np.cumsum(w / w.sum())])
        edges = bins[ray].numpy()
        for k, u in enumerate(np.linspace(0, 1, 9)):
            i = min(max(int(np.searchsorted(cdf, u, side="right")) - 1, 0), 4)
            expected = edges[i] + (u - cdf[i]) / (cdf[i + 1] - cdf[i]) * (edges[i + 1] - edges[i])
            assert abs(samples[ray, k].item() - expected) < 1e-9


def test_metrics_with_need_cond_input_draw_cameras_from_the_test_set():
    rows = [np.full(25, float(i), dtype=np.float32) for i in range(5)]
    dataset = type("Cameras", (), {"__len__": lambda self: 5, "raw_sample": lambda self, i: {"gt_label": rows[i]}})()
    seen = []

    class Recorder:
        latent_dim = 3

        def sample(self, noise, labels=None):
            seen.append(labels)
            return torch.zeros(len(noise), 3, 2, 2)

    ctx = MetricContext(model=Recorder(), device=torch.device("cpu"), cache_dir=None, work_dir=None,
                        dataloader=types.SimpleNamespace(dataset=dataset))
    labels = ctx.dataset_labels([0, 1, 2, 3])
    assert labels.shape == (4, 25) and all(float(row[0]) in range(5) and bool((row == row[0]).all()) for row in labels)
    assert torch.equal(ctx.dataset_labels([2, 3]), labels[2:])  # a sample's camera depends on its index only
    ctx.generate([0, 1, 2, 3], "orig", labels)
    ctx.generate([0, 1], "orig")
    assert torch.equal(seen[0], labels) and seen[1] is None


def test_mmagic_shapenet_config_tests_a_checkpoint_in_mmagics_layout_through_the_cli(tmp_path, monkeypatch):
    from mgx.benchmarks.zoo_data import Sizes, write_dataset
    from mgx.core.config import load_config, to_plain

    config = CONFIGS / "eg3d" / "eg3d_cvt-official-rgb_shapenet-128x128.py"
    dataset = to_plain(load_config(str(config)))["test_dataloader"]["dataset"]
    write_dataset(dataset, tmp_path, Sizes(image=16, count=3))
    labels = json.loads((tmp_path / "data/eg3d/shapenet-car/shapenet.json").read_text())
    assert len(labels) == 3 and all(len(value) == 25 for value in labels.values())
    options = [f"model.generator.{key}={value}" for key, value in TINY.items()]
    options += ["model.generator.renderer_cfg.decoder_cfg.hidden_channels=8",
                "model.generator.renderer_cfg.depth_resolution=4",
                "model.generator.renderer_cfg.depth_resolution_importance=4",
                "test_dataloader.batch_size=2", "test_dataloader.num_workers=0",
                "test_dataloader.persistent_workers=False"]
    options += tiny_metric_options(tmp_path, {"test_evaluator": (0, 1)})
    cfg = to_plain(load_config(str(config), options))
    model = build(cfg["model"], "model")
    torch.save({"state_dict": mmagic_checkpoint_of(model), "meta": {}}, tmp_path / "converted.pth")
    metrics = evaluate_checkpoint(config, tmp_path / "converted.pth", tmp_path / "test", options, monkeypatch)
    assert {"FID-Full/fid", "FID-Random-Camera/fid"} <= set(metrics)
    assert all(math.isfinite(value) for value in metrics.values())
    assert list((tmp_path / "test" / "samples").glob("*.png"))  # the sample grid of a test-only model


def test_dual_discriminator_has_mmagics_keys_and_projects_the_camera():
    from test_stylegan2_mmagic import C, mmagic_discriminator_shapes

    shapes = mmagic_discriminator_shapes(8)
    shapes.update({"convs.0.0.conv.weight_orig": (C, 6, 1, 1), "final_linear.1.linear.weight_orig": (16, C),
                   "final_linear.1.bias": (16,), "mapping.embed.weight": (16, 25), "mapping.embed.bias": (16,)})
    for index in range(2):  # MMagic's DualDiscriminator: StyleGAN3's MappingNetwork of the camera alone
        shapes.update({f"mapping.fc{index}.weight": (16, 16), f"mapping.fc{index}.bias": (16,)})
    arguments = dict(type="DualDiscriminator", in_size=8, cond_size=25, cond_mapping_channels=16,
                     cond_mapping_layers=2)
    with torch.device("meta"):
        discriminator = build(arguments, "model")
    converted = _mgx_model(TINY).adapt_loaded_weights(
        {f"discriminator.{key}": torch.empty(shape, device="meta") for key, shape in shapes.items()})
    mine = {f"discriminator.{key}": value for key, value in discriminator.state_dict().items()}
    assert sorted(converted) == sorted(mine) and all(converted[k].shape == mine[k].shape for k in mine)

    small = build(dict(arguments, channel_max=8), "model")
    image, raw, cond = torch.randn(4, 3, 8, 8), torch.randn(4, 3, 4, 4), torch.randn(4, 25)
    score = small(image, raw, cond)
    assert score.shape == (4, 1)
    assert not torch.allclose(score, small(image, raw, cond + 1))  # the camera changes the score
    with pytest.raises(ValueError, match="img_raw"):
        small(image)


def test_auto_ray_limits_are_the_entry_and_exit_of_the_tri_plane_cube():
    from mgx.plugins.models.eg3d.rays import get_ray_limits_box

    origins = torch.tensor([[[0.0, 0.0, 3.0], [0.3, 0.2, 3.0], [5.0, 5.0, 3.0]]])
    directions = torch.nn.functional.normalize(torch.tensor([[[0.0, 0.0, -1.0], [0.0, 0.0, -1.0],
                                                              [0.0, 0.0, -1.0]]]), dim=-1)
    start, end = get_ray_limits_box(origins, directions, box_side_length=2.0)
    assert torch.allclose(start[0, :2, 0], torch.tensor([2.0, 2.0])) and torch.allclose(end[0, :2, 0],
                                                                                         torch.tensor([4.0, 4.0]))
    assert start[0, 2, 0] == -1 and end[0, 2, 0] == -2  # misses the cube


@pytest.mark.parametrize("mode", ["both", "camera", "conditioning"])
def test_interpolation_renders_a_camera_path(mode):
    model = _mgx_model(TINY, renderer=dict(depth_resolution=4, depth_resolution_importance=4))
    model.camera = GaussianCamera(horizontal_mean=1.57, vertical_mean=1.52, horizontal_std=0.35, vertical_std=0.25,
                                  radius=2.7, fov=18.837, look_at=[0, 0, 0.2])
    frames = model.interpolation(3, num_batches=2, mode=mode)
    assert len(frames) == 3 and frames[0]["fake_img"].shape == (2, 3, 16, 16)
    assert frames[0]["lr_img"].shape == (2, 3, 8, 8) and frames[0]["depth"].shape == (2, 1, 8, 8)
    moved = not torch.equal(frames[0]["ray_origins"], frames[1]["ray_origins"])
    assert moved == (mode != "conditioning")


def test_bad_settings_are_config_errors_and_training_says_eg3d_is_evaluated():
    from mgx.core.errors import ConfigError, MgxError

    with pytest.raises(ConfigError, match="2, 4 or 8 times sr_in_size"):
        _mgx_model(dict(TINY, sr_in_size=6))
    with pytest.raises(ConfigError, match="ray_start .* must be less than ray_end"):
        _mgx_model(TINY, renderer=dict(ray_end=1.0))
    with pytest.raises(ConfigError, match="both be numbers or both 'auto'"):
        _mgx_model(TINY, renderer=dict(ray_start="auto"))
    with pytest.raises(MgxError, match="mgx run test"):
        _mgx_model(TINY).train_step({}, None)
