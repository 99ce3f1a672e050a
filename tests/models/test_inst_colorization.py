"""InstColorization (MMagic 1.2.0's inst_colorization config): parameter counts and state-dict keys as
MMagic's definitions make them (inst_colorization/*.py, read), an MMagic checkpoint through load_from, the
Lab conversions, HuberLoss and the fusion weights against float64 computations of their definitions,
InstanceCrop's box placement and its message without a detector, and the config trained 2 iterations +
tested through the CLI at tiny width (boxes supplied with the data)."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.core.engine.checkpoint import load_model_weights, weights_of
from mgx.core.errors import ConfigError
from mgx.core.registry import build

from gan_zoo_helpers import CONFIGS, train_and_test

CONFIG = CONFIGS / "inst_colorization" / "inst-colorizatioon_full_official_cocostuff-256x256.py"


def config_model(base_channels=None):
    from mgx.core.config import load_config

    cfg = load_config(str(CONFIG))["model"]
    for name in ("image_model", "instance_model", "fusion_model"):
        if base_channels:
            cfg[name]["base_channels"] = base_channels
    return cfg


def trunk_shapes(c):
    """MMagic's ColorizationNet keys (norm_type='batch') at widths c, 2c, 4c, 8c, by reading colorization_net.py."""
    keys = {}
    c1, c2, c3, c4 = c, 2 * c, 4 * c, 8 * c

    def stage(name, widths, first=0):
        for index, (cin, cout) in enumerate(zip(widths[:-1], widths[1:])):
            keys[f"{name}.{first + 2 * index}.weight"] = (cout, cin, 3, 3)
            keys[f"{name}.{first + 2 * index}.bias"] = (cout,)
        norm = f"{name}.{first + 2 * (len(widths) - 1)}"
        keys.update({f"{norm}.weight": (widths[-1],), f"{norm}.bias": (widths[-1],),
                     f"{norm}.running_mean": (widths[-1],), f"{norm}.running_var": (widths[-1],),
                     f"{norm}.num_batches_tracked": ()})

    stage("model1", [4, c1, c1]), stage("model2", [c1, c2, c2]), stage("model3", [c2, c3, c3, c3])
    stage("model4", [c3, c4, c4, c4])
    for name in ("model5", "model6", "model7"):
        stage(name, [c4, c4, c4, c4])
    stage("model8", [c3, c3, c3], first=1), stage("model9", [c2, c2], first=1)
    for name, cout, cin, k in (("model8up", c3, c4, 4), ("model3short8", c3, c3, 3), ("model9up", c2, c3, 4),
                               ("model2short9", c2, c2, 3), ("model10up", c2, c2, 4), ("model1short10", c2, c1, 3),
                               ("model10.1", c2, c2, 3), ("model_class", 529, c3, 1), ("model_out.0", 2, c2, 1)):
        shape = (cin, cout, k, k) if name.endswith("up") else (cout, cin, k, k)
        keys.update({f"{name}.weight": shape, f"{name}.bias": (cout,)})
    return keys


def fusion_shapes(c):
    keys = trunk_shapes(c)
    widths = dict(weight_layer=c, weight_layer2=2 * c, weight_layer3=4 * c, weight_layer4=8 * c,
                  weight_layer5=8 * c, weight_layer6=8 * c, weight_layer7=8 * c, weight_layer8_1=4 * c,
                  weight_layer8_2=4 * c, weight_layer9_1=2 * c, weight_layer9_2=2 * c, weight_layer10_1=2 * c,
                  weight_layer10_2=2 * c, weight_layerout=2)
    for name, width in widths.items():
        for net in ("simple_instance_conv", "simple_bg_conv"):
            for index, (cin, cout) in enumerate(((width, 16), (16, 16), (16, 1))):
                keys.update({f"{name}.{net}.{2 * index}.weight": (cout, cin, 3, 3),
                             f"{name}.{net}.{2 * index}.bias": (cout,)})
    return keys


def mmagic_shapes(c):
    keys = {f"{net}.{k}": v for net in ("image_model", "instance_model") for k, v in trunk_shapes(c).items()}
    keys.update({f"fusion_model.{k}": v for k, v in fusion_shapes(c).items()})
    return keys


def test_parameters_and_keys_are_mmagics_and_mmagic_checkpoints_load():
    cfg = config_model()
    with torch.device("meta"):  # the published widths, without spending seconds on initialisation
        nets = {name: build(cfg[name], "model") for name in ("image_model", "instance_model", "fusion_model")}
    assert {f"{n}.{k}": tuple(v.shape) for n, net in nets.items() for k, v in net.state_dict().items()} == \
        mmagic_shapes(64)
    counts = [sum(p.numel() for p in net.parameters()) for net in nets.values()]
    assert counts == [34_187_027, 34_187_027, 35_270_831]  # + 14 WeightLayers (288·c + 4962 each)
    tiny = build(config_model(base_channels=4), "model")
    state = {k: torch.randn(v) if v else torch.tensor(5) for k, v in mmagic_shapes(4).items()}
    state["data_preprocessor.mean"] = torch.full((3, 1, 1), 127.5)
    load_model_weights(tiny, weights_of({"meta": {"mmagic_version": "1.2.0"}, "state_dict": state}), "inst.pth")
    assert torch.equal(tiny.fusion_model.weight_layer8_1.simple_bg_conv[4].weight,
                       state["fusion_model.weight_layer8_1.simple_bg_conv.4.weight"])


def lab_float64(rgb):
    """CIE L*a*b* (D65) of sRGB in [0, 1], with InstColorization's constants, in numpy float64."""
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    matrix = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169],
                       [0.019334, 0.119193, 0.950227]])
    xyz = np.einsum("ij,njhw->nihw", matrix, linear) / np.array([0.95047, 1.0, 1.08883])[None, :, None, None]
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.concatenate([116 * f[:, 1:2] - 16, 500 * (f[:, :1] - f[:, 1:2]), 200 * (f[:, 1:2] - f[:, 2:])], 1)


def test_lab_conversions_match_float64_definition():
    from mgx.plugins.models.inst_colorization.color import lab2rgb, rgb2lab

    rgb = np.random.default_rng(0).random((2, 3, 16, 16))
    rgb[0, :, 0, :4] = [[0.0, 0.01, 0.04, 1.0]] * 3  # the linear segments and the white point
    lab = rgb2lab(torch.tensor(rgb, dtype=torch.float32))
    np.testing.assert_allclose(lab.numpy(), lab_float64(rgb), rtol=0, atol=2e-4)
    white = lab[0, :, 0, 3]  # ab within 1e-2 of 0: the matrices' 6 digits
    assert abs(float(white[0]) - 100.0) < 1e-3 and float(white[1:].abs().max()) < 1e-2
    back = lab2rgb(torch.tensor(lab_float64(rgb))).numpy()
    np.testing.assert_allclose(back, rgb, rtol=0, atol=2e-5)  # the matrices invert each other to ~1e-6


def test_huber_loss_matches_float64_definition():
    pred, target = torch.randn(2, 2, 5, 5, dtype=torch.float64) * 0.02, torch.zeros(2, 2, 5, 5, dtype=torch.float64)
    d = (pred - target).abs().numpy()
    expected = np.where(d < 0.01, 0.5 * d ** 2 / 0.01, d - 0.005).sum(1).mean()
    assert float(build(dict(type="HuberLoss", delta=0.01), "model")(pred, target)) == pytest.approx(expected, rel=1e-12)


def test_weight_layer_blends_instances_inside_their_boxes_only():
    from mgx.plugins.models.inst_colorization.networks import WeightLayer

    layer = WeightLayer(3).double()
    instance, background = torch.rand(1, 3, 4, 4, dtype=torch.float64), torch.rand(1, 3, 8, 8, dtype=torch.float64)
    box = torch.tensor([[2, 2, 1, 3, 4, 4]])  # left 2, right 2, top 1, bottom 3; 4 × 4
    out = layer(instance, background, box)
    w_inst = layer.simple_instance_conv(instance)
    w_bg = layer.simple_bg_conv(background)[:, :, 1:5, 2:6]
    blend = (torch.exp(w_inst) * instance + torch.exp(w_bg) * background[:, :, 1:5, 2:6]) / (
        torch.exp(w_inst) + torch.exp(w_bg))
    torch.testing.assert_close(out[:, :, 1:5, 2:6], blend, rtol=1e-12, atol=1e-12)
    outside = torch.ones(8, 8, dtype=torch.bool)
    outside[1:5, 2:6] = False
    torch.testing.assert_close(out[0][:, outside], background[0][:, outside], rtol=0, atol=1e-12)


def test_instance_crop_places_boxes_and_names_what_the_detector_needs(tmp_path):
    from mgx.plugins.data.instance_crop import box_info

    assert box_info([10, 20, 30, 60], (40, 80), 16) == [4, 4, 4, 4, 8, 8]
    assert box_info([0, 0, 1, 1], (400, 400), 8) == [0, 7, 0, 7, 1, 1]  # under a pixel: widened to one
    with pytest.raises(ConfigError, match="MMDetection is not installed.*bbox_file"):
        build(dict(type="InstanceCrop", config_file="mmdet::mask_rcnn/x.py"), "transform")
    (tmp_path / "boxes.json").write_text(json.dumps({"a.png": [[1, 1, 5, 6, 0.9], [0, 0, 3, 3, 0.5]], "b.png": []}))
    crop = build(dict(type="InstanceCrop", config_file="unused", bbox_file=str(tmp_path / "boxes.json"),
                      box_num_upbound=1, finesize=8), "transform")
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    sample = crop({"img": image, "img_path": "/data/a.png", "ori_img_shape": image.shape})
    assert sample["empty_box"] is False and len(sample["cropped_img"]) == 1  # the higher-scoring box
    assert np.array_equal(sample["cropped_img"][0], image[1:6, 1:5])
    assert sample["box_info_2x"].tolist() == [[0, 2, 0, 1, 2, 3]]
    assert crop({"img": image, "img_path": "b.png"})["empty_box"] is True


def test_mmagic_config_trains_and_tests(tmp_path, monkeypatch):
    from mgx.benchmarks.zoo_data.colorization import write_instance_images

    boxes = write_instance_images(tmp_path / "coco", count=2, side=32)  # the second image without instances
    data = boxes.parent
    # MMagic's config has a test pipeline only: the loaders, evaluator and optimizer are the additions
    config = tmp_path / "inst_colorization_data.py"
    config.write_text(f"""_base_ = [{str(CONFIG)!r}]
dataset = dict(type='BasicImageDataset', data_root={str(data)!r}, data_prefix=dict(img=''),
               pipeline=_base_.test_pipeline)
train_dataloader = dict(batch_size=1, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=False),
                        dataset=dataset)
val_dataloader = dict(batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dataset)
test_dataloader = val_dataloader
val_evaluator = [dict(type='PSNR'), dict(type='SSIM')]
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999)))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
""")
    options = ["default_hooks.checkpoint.interval=2", "default_hooks.logger.interval=1", "model.train_cfg.stage=fusion"]
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        options += [f"{loader}.dataset.pipeline.1.bbox_file={data / 'boxes.json'}",
                    f"{loader}.dataset.pipeline.1.finesize=32", f"{loader}.dataset.pipeline.2.scale=(32,32)"]
    for name in ("image_model", "instance_model", "fusion_model"):
        options.append(f"model.{name}.base_channels=4")
    metrics = train_and_test(config, tmp_path, options, monkeypatch)
    assert set(metrics) == {"PSNR", "SSIM"} and all(v == v for v in metrics.values())


def test_training_stages_update_only_their_network():
    from mgx.core.engine.optim import build_optim_wrappers
    from mgx.plugins.data.instance_crop import box_info

    model = build(config_model(base_channels=4), "model")
    gen = torch.Generator().manual_seed(0)
    crops = torch.randint(0, 256, (1, 2, 3, 16, 16), dtype=torch.uint8, generator=gen)
    boxes = {f"box_info{suffix}": torch.tensor([[box_info(box, (16, 16), 16 // divisor) for box in ((2, 1, 10, 9),
                                                                                                  (0, 0, 16, 16))]])
             for suffix, divisor in (("", 1), ("_2x", 2), ("_4x", 4), ("_8x", 8))}
    batch = {"inputs": torch.randint(0, 256, (1, 3, 16, 16), dtype=torch.uint8, generator=gen), "cropped_img": crops,
             "empty_box": torch.tensor([False]), **boxes}
    optim = build_optim_wrappers(dict(optimizer=dict(type="Adam", lr=1e-3)), model, device=torch.device("cpu"),
                                 amp=False)
    for stage, trained in (("full", "image_model"), ("instance", "instance_model"), ("fusion", "fusion_model")):
        model.stage = stage
        before = {name: getattr(model, name).model_out[0].weight.detach().clone()
                  for name in ("image_model", "instance_model", "fusion_model")}
        assert torch.isfinite(model.train_step(batch, optim)["loss"])
        changed = {name for name, weight in before.items()
                   if not torch.equal(weight, getattr(model, name).model_out[0].weight)}
        assert changed == {trained}, stage
    assert model.train_step({**batch, "empty_box": torch.tensor([True])}, optim) == {}  # fusion: nothing to fuse
