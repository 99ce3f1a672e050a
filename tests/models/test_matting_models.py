"""DIM, GCA and IndexNet as MMagic 1.2.0 defines them (read off dim.py, gca/*.py, indexnet/*.py, archs/vgg.py,
archs/aspp.py, plain/*.py): parameter counts of the published configs, state-dict keys and shapes, MMagic
checkpoints through load_from, DIM's training stages, the composition loss, and evaluation's post-processing."""
import functools

import pytest
import torch

from mgx.core.engine.checkpoint import load_model_weights
from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.errors import ConfigError
from mgx.core.registry import build

CPU = torch.device("cpu")
PREPROCESSOR = dict(type="MattorPreprocessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])


def dim(**extra):
    return dict(type="DIM", data_preprocessor=dict(PREPROCESSOR, proc_trimap="rescale_to_zero_one"),
                backbone=dict(type="SimpleEncoderDecoder", encoder=dict(type="VGG16", in_channels=4),
                              decoder=dict(type="PlainDecoder")),
                loss_alpha=dict(type="CharbonnierLoss", loss_weight=0.5),
                loss_comp=dict(type="CharbonnierCompLoss", loss_weight=0.5),
                train_cfg=dict(train_backbone=True, train_refiner=False),
                test_cfg=dict(refine=False, resize_method="pad", resize_mode="reflect", size_divisor=32), **extra)


DIM_STAGE3 = dict(refiner=dict(type="PlainRefiner"), loss_refine=dict(type="CharbonnierLoss"),
                  train_cfg=dict(train_backbone=True, train_refiner=True), test_cfg=dict(refine=True))


def gca(encoder="ResGCAEncoder", decoder="ResGCADecoder", in_channels=6, layers=((3, 4, 4, 2), (2, 3, 3, 2))):
    return dict(type="GCA", data_preprocessor=dict(PREPROCESSOR, proc_trimap="as_is"),
                backbone=dict(type="SimpleEncoderDecoder",
                              encoder=dict(type=encoder, block="BasicBlock", layers=list(layers[0]),
                                           in_channels=in_channels, with_spectral_norm=True),
                              decoder=dict(type=decoder, block="BasicBlockDec", layers=list(layers[1]),
                                           with_spectral_norm=True)),
                loss_alpha=dict(type="L1Loss"),
                test_cfg=dict(resize_method="pad", resize_mode="reflect", size_divisor=32))


INDEXNET = dict(type="IndexNet", data_preprocessor=PREPROCESSOR,
                backbone=dict(type="SimpleEncoderDecoder",
                              encoder=dict(type="IndexNetEncoder", in_channels=4, freeze_bn=True),
                              decoder=dict(type="IndexNetDecoder")),
                loss_alpha=dict(type="CharbonnierLoss", loss_weight=0.5, sample_wise=True),
                loss_comp=dict(type="CharbonnierCompLoss", loss_weight=1.5, sample_wise=True),
                test_cfg=dict(resize_method="interp", resize_mode="bicubic", size_divisor=32))


def count(model):
    return sum(parameter.numel() for parameter in model.parameters())


PUBLISHED = {"dim": lambda: {**dim(), **DIM_STAGE3}, "gca": gca, "indexnet": lambda: INDEXNET,
             "gca_baseline": lambda: gca("ResShortcutEnc", "ResShortcutDec")}


@functools.lru_cache(maxsize=None)
def published(name):
    """The published config's model, built once for this module's tests (full size: 6-26 M parameters)."""
    return build(PUBLISHED[name](), "model")


def test_published_configs_have_mmagics_parameter_counts():
    # summed by hand from MMagic's layer definitions: VGG16(in 4) 14,977,920 + PlainDecoder 11,222,081 +
    # PlainRefiner 76,801; GCA's ResGCAEncoder 15,869,648 + ResGCADecoder 9,294,881 (each GCAModule 24,896,
    # the guidance head 42,256); IndexNet's encoder 4,640,096 (ASPP 627,840 of it) + decoder 1,313,419
    assert count(published("dim")) == 26_276_802
    assert count(published("gca")) == 25_164_529
    assert count(published("gca_baseline")) == 25_072_481
    assert count(published("indexnet")) == 5_953_515


# (key, shape) entries of MMagic's state dicts for the published configs, read off its modules (MMCV
# ConvModule: conv, bn (no conv bias beside a norm); spectral norm: weight_orig / weight_u / weight_v)
MMAGIC_DIM = {
    "backbone.encoder.layer1.0.weight": (64, 4, 3, 3), "backbone.encoder.layer3.4.weight": (256, 256, 3, 3),
    "backbone.encoder.layer5.4.bias": (512,), "backbone.encoder.conv6.weight": (512, 512, 1, 1),
    "backbone.decoder.deconv6_1.weight": (512, 512, 1, 1), "backbone.decoder.deconv5_1.weight": (512, 512, 5, 5),
    "backbone.decoder.deconv1.weight": (1, 64, 5, 5), "refiner.refine_conv1.weight": (64, 4, 3, 3),
    "refiner.refine_pred.bias": (1,)}
MMAGIC_GCA = {
    "backbone.encoder.conv1.conv.weight_orig": (32, 6, 3, 3), "backbone.encoder.conv1.conv.weight_u": (32,),
    "backbone.encoder.conv1.conv.weight_v": (54,), "backbone.encoder.conv1.bn.running_var": (32,),
    "backbone.encoder.layer2.0.interpolation.1.conv.weight_orig": (128, 64, 1, 1),
    "backbone.encoder.layer4.1.conv2.bn.weight": (512,),
    "backbone.encoder.shortcut.0.0.conv.weight_orig": (32, 6, 3, 3), "backbone.encoder.shortcut.4.1.bn.bias": (256,),
    "backbone.encoder.guidance_head.2.conv.weight_orig": (128, 32, 3, 3),
    "backbone.encoder.gca.guidance_conv.weight": (64, 128, 1, 1), "backbone.encoder.gca.guidance_conv.bias": (64,),
    "backbone.encoder.gca.out_conv.conv.weight": (128, 128, 1, 1), "backbone.encoder.gca.out_conv.bn.weight": (128,),
    "backbone.decoder.layer1.0.conv1.conv.weight_orig": (512, 512, 4, 4),
    "backbone.decoder.layer1.0.conv2.conv.weight_orig": (256, 512, 3, 3),
    "backbone.decoder.layer1.0.interpolation.1.conv.weight_orig": (256, 512, 1, 1),
    "backbone.decoder.conv1.conv.weight_orig": (32, 32, 4, 4), "backbone.decoder.conv2.conv.weight": (1, 32, 3, 3),
    "backbone.decoder.conv2.conv.bias": (1,), "backbone.decoder.gca.out_conv.bn.running_mean": (128,)}
MMAGIC_INDEXNET = {
    "backbone.encoder.layers.0.conv.weight": (32, 4, 3, 3), "backbone.encoder.layers.0.bn.weight": (32,),
    "backbone.encoder.layers.1.0.conv.depthwise_conv.conv.weight": (32, 1, 3, 3),
    "backbone.encoder.layers.1.0.conv.pointwise_conv.bn.bias": (16,),
    "backbone.encoder.layers.2.0.conv.0.conv.weight": (96, 16, 1, 1),
    "backbone.encoder.layers.2.0.conv.1.depthwise_conv.conv.weight": (96, 1, 3, 3),
    "backbone.encoder.layers.7.0.conv.1.pointwise_conv.conv.weight": (320, 960, 1, 1),
    "backbone.encoder.index_layers.0.index_blocks.3.0.conv.weight": (32, 32, 4, 4),
    "backbone.encoder.index_layers.0.index_blocks.3.0.bn.weight": (32,),
    "backbone.encoder.index_layers.4.index_blocks.0.1.conv.weight": (160, 160, 1, 1),
    "backbone.encoder.dconv.convs.0.conv.weight": (256, 320, 1, 1),
    "backbone.encoder.dconv.convs.3.depthwise_conv.conv.weight": (320, 1, 3, 3),
    "backbone.encoder.dconv.convs.4.1.conv.weight": (256, 320, 1, 1),
    "backbone.encoder.dconv.project.0.conv.weight": (160, 1280, 1, 1),
    "backbone.decoder.decoder_layers.0.conv.conv.weight": (96, 320, 5, 5),
    "backbone.decoder.decoder_layers.6.conv.bn.num_batches_tracked": (),
    "backbone.decoder.pred.0.conv.weight": (1, 32, 5, 5), "backbone.decoder.pred.1.weight": (1, 1, 5, 5)}


@pytest.mark.parametrize("name,recorded,unused", [
    ("dim", MMAGIC_DIM, ("refiner.refine_pred.bias",)),
    ("gca", MMAGIC_GCA, ("backbone.encoder.gca.guidance_conv.bias",)),
    ("indexnet", MMAGIC_INDEXNET, ("backbone.decoder.pred.1.weight",))], ids=["dim", "gca", "indexnet"])
def test_keys_and_shapes_are_mmagics_and_mmagic_checkpoints_load(name, recorded, unused):
    model = published(name)
    state = model.state_dict()
    for key, shape in recorded.items():
        assert tuple(state[key].shape) == shape, key
    assert not any(key.startswith("data_preprocessor.") for key in state)  # mean/std are not checkpointed
    # an MMagic checkpoint: the same keys, plus the preprocessor's buffers MMagic 1.x files may carry
    weights = {key: torch.randn(value.shape) if value.is_floating_point() else value for key, value in state.items()}
    mmagic = {**weights, "data_preprocessor.mean": torch.zeros(1, 3, 1, 1),
              "data_preprocessor.std": torch.ones(1, 3, 1, 1)}
    load_model_weights(model, mmagic, "mmagic.pth")
    for key in unused:
        assert torch.equal(model.state_dict()[key], weights[key])
    with pytest.raises(ConfigError, match="missing"):
        load_model_weights(model, {k: v for k, v in weights.items() if k != unused[0]}, "broken.pth")


def matting_batch(n=2, size=32, seed=0, one_hot=False):
    gen = torch.Generator().manual_seed(seed)
    image = lambda c: torch.randint(0, 256, (n, c, size, size), dtype=torch.uint8, generator=gen)  # noqa: E731
    trimap = torch.full((n, 1, size, size), 128, dtype=torch.uint8)
    trimap[..., : size // 4, :], trimap[..., -size // 4:, :] = 0, 255
    batch = dict(inputs=image(3), gt_alpha=image(1), gt_fg=image(3), gt_bg=image(3), gt_merged=image(3),
                 ori_trimap=trimap)
    batch["trimap"] = torch.cat([trimap == 0, trimap == 128, trimap == 255], 1).to(torch.uint8) if one_hot else trimap
    return batch


def test_dim_stages_train_the_parts_their_train_cfg_names():
    stage2 = build({**dim(), **DIM_STAGE3, "train_cfg": dict(train_backbone=False, train_refiner=True)}, "model")
    stage2.train()
    assert not stage2.backbone.training and stage2.refiner.training  # the frozen backbone keeps its statistics
    assert not any(p.requires_grad for p in stage2.backbone.parameters())
    backbone = {k: v.clone() for k, v in stage2.backbone.state_dict().items()}
    optim = build_optim_wrappers(dict(optimizer=dict(type="Adam", lr=1e-3)), stage2, device=CPU, amp=False)
    logged = stage2.train_step(matting_batch(n=1), optim)
    assert set(logged) == {"loss_refine", "loss"}
    assert all(torch.equal(backbone[k], v) for k, v in stage2.backbone.state_dict().items())
    stage3 = build({**dim(), **DIM_STAGE3}, "model").train()
    logged = stage3.train_step(matting_batch(n=1), build_optim_wrappers(dict(optimizer=dict(type="Adam", lr=1e-3)),
                                                                        stage3, device=CPU, amp=False))
    assert set(logged) == {"loss_alpha", "loss_comp", "loss_refine", "loss"}
    assert logged["loss"] == pytest.approx(float(logged["loss_alpha"] + logged["loss_comp"] + logged["loss_refine"]))


def test_composition_loss_is_the_charbonnier_distance_of_the_recomposed_image():
    gen = torch.Generator().manual_seed(1)
    alpha, fg, bg, merged = (torch.rand(2, c, 5, 4, generator=gen, dtype=torch.float64) for c in (1, 3, 3, 3))
    weight = (torch.rand(2, 1, 5, 4, generator=gen) > 0.5).double()
    loss = build(dict(type="CharbonnierCompLoss", loss_weight=1.5, sample_wise=True), "model")
    recomposed = alpha * fg + (1 - alpha) * bg
    per_pixel = torch.sqrt((recomposed - merged) ** 2 + 1e-12) * weight
    expected = 1.5 * sum(per_pixel[i].sum() / (3 * weight[i].sum() + 1e-12) for i in range(2)) / 2
    assert float(loss(alpha, fg, bg, merged, weight)) == pytest.approx(float(expected), rel=1e-12)


@pytest.mark.parametrize("resize_method,size", [("pad", (40, 36)), ("interp", (70, 66))])
def test_evaluation_restores_the_size_and_keeps_the_trimaps_known_pixels(resize_method, size):
    cfg = gca(layers=((1, 1, 1, 1), (1, 1, 1, 1)))
    cfg["test_cfg"] = dict(resize_method=resize_method, resize_mode="reflect" if resize_method == "pad" else "bilinear",
                           size_divisor=32)
    model = build(cfg, "model").eval()
    batch = matting_batch(n=1, size=size[0], one_hot=True)
    batch = {k: v[..., : size[1]] for k, v in batch.items()}
    pred = model.val_step(batch)["pred_alpha"]
    trimap = batch["ori_trimap"]
    assert pred.shape == (1, 1, *size) and torch.equal(pred, pred.round()) and 0 <= pred.min() <= pred.max() <= 255
    assert (pred[trimap == 0] == 0).all() and (pred[trimap == 255] == 255).all()
    columns = model.grid_columns(batch, {"pred_alpha": pred})  # image / trimap / prediction / ground truth
    assert [c.shape[1] for c in columns] == [3, 1, 1, 1] and columns[1].unique().tolist() == [0, 128, 255]


def test_config_errors():
    with pytest.raises(ConfigError, match="resize_method"):
        build({**dim(), "test_cfg": dict(resize_method="crop")}, "model")
    with pytest.raises(ConfigError, match="proc_trimap"):
        build({**dim(), "data_preprocessor": dict(type="MattorPreprocessor", proc_trimap="onehot")}, "model")
    with pytest.raises(ConfigError, match="open-mmlab"):
        cfg = dim()
        cfg["backbone"]["encoder"]["init_cfg"] = dict(type="Pretrained", checkpoint="open-mmlab://mmedit/vgg16")
        build(cfg, "model")
    with pytest.raises(ConfigError, match="in_channels must be 4 or 6"):
        build(gca(in_channels=5), "model")
