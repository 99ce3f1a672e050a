"""The --cfg-options of a trial read from the config: image sizes and crops, batch sizes, two iterations,
``fake_nums`` (what MMagic users change to run a config on their own data)."""
from __future__ import annotations

import re
from typing import Iterator

from .base import Sizes, prefixes

LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")
EVALUATORS = ("val_evaluator", "test_evaluator")
TRIAL_FAKE_NUMS = 8
TRIAL_BATCH = 2


def loaders(cfg: dict) -> Iterator[tuple[str, dict]]:
    """(--cfg-options path, dataloader dict) of every dataloader, lists included."""
    for key in LOADERS:
        value = cfg.get(key)
        items = [(f"{key}.{i}", item) for i, item in enumerate(value)] if isinstance(value, (list, tuple)) \
            else [(key, value)]
        yield from ((path, item) for path, item in items if isinstance(item, dict))


def dataset_scale(cfg: dict, dataset: dict) -> int:
    """The super-resolution scale of a dataset: SetValues(scale=...) in its pipeline, the config's
    ``scale``, the generator's ``upscale_factor``, or an ``x4``/``X4`` in its folder names (1 for frames
    already upsampled to the output size: TOFlow's ``BIx4up_direct``)."""
    if any("up_direct" in folder for folder in prefixes(dataset).values()):
        return 1
    for step in dataset.get("pipeline") or []:
        if isinstance(step, dict) and isinstance((step.get("dictionary") or {}).get("scale"), int):
            return step["dictionary"]["scale"]
    generator = (cfg.get("model") or {}).get("generator") or {}
    for value in (cfg.get("scale"), generator.get("upscale_factor"), generator.get("scale"), _prior_scale(generator)):
        if isinstance(value, int) and value > 0:
            return value
    match = re.search(r"[xX](\d)", " ".join(prefixes(dataset).values()))
    return int(match.group(1)) if match else 1


def _prior_scale(generator: dict) -> int | None:
    """A generative-prior super-resolver's scale (GLEAN: out_size / in_size, both fixed by the network)."""
    sides = generator.get("in_size"), generator.get("out_size")
    if all(isinstance(side, int) and side > 0 for side in sides) and sides[1] > sides[0]:
        return sides[1] // sides[0]
    return None


def _degrades_on_the_fly(dataset: dict) -> bool:
    """A pipeline that degrades its ground truth to fixed sides (a RandomResize: Real-ESRGAN, GLEAN's
    in128out1024), which :func:`degradation_options` rescales to the trial's crop."""
    return "RandomResize" in repr(dataset.get("pipeline"))


def _fixed_input(cfg: dict) -> int | None:
    """The input side a discriminator fixes (MMagic's ModifiedVGG: 128), which training crops must match."""
    disc = (cfg.get("model") or {}).get("discriminator") or {}
    if disc.get("type") == "ModifiedVGG":
        return int(disc.get("input_size", 128))
    return None


TTSR_DISC_SIDE = 96  # TTSRDiscriminator's side: a multiple of 32 (and of 12, as the image writer rounds)


def _network_minimums(cfg: dict, sizes: Sizes) -> list[str]:
    """Sizes the networks and metrics need: SwinIR reflect-pads its input to whole windows (at least one
    window per side), NIQE reads two 96×96 blocks of the output, LIIF's ×30 test leaves pixels inside
    its 30-px crop_border, TTSRDiscriminator takes a multiple of 32."""
    scales = [dataset_scale(cfg, loader.get("dataset") or {}) for _, loader in loaders(cfg)] or [1]
    model = cfg.get("model") or {}
    window = (model.get("generator") or {}).get("window_size")
    if isinstance(window, int):
        sizes.crop = max(sizes.crop, window * max(scales))
    from .stand_ins import uses

    if uses([cfg.get(key) for key in EVALUATORS], "NIQE"):
        sizes.image = max(sizes.image, -(-192 // max(min(scales), 1)))
    for _, loader in loaders(cfg):  # LIIF's tests down-sample by up to 30 and crop that border from the output
        for step in (loader.get("dataset") or {}).get("pipeline") or []:
            if isinstance(step, dict) and step.get("type") == "RandomDownSampling" and "patch_size" not in step:
                sizes.image = max(sizes.image, 4 * int(-(-float(step.get("scale_max", 4)) // 1)))
    if (model.get("discriminator") or {}).get("type") == "TTSRDiscriminator":
        sizes.image = max(sizes.image, TTSR_DISC_SIDE)
        return [f"model.discriminator.in_size={TTSR_DISC_SIDE}"]
    return []
def _load_key_prefix(path: str, dataset: dict) -> list[str]:
    """A BasicImageDataset whose one ``data_prefix`` field is not the key its ``LoadImageFromFile`` reads
    (MMagic's MSPIE val/test loaders: ``gt`` listed, ``img`` loaded; MMagic stops at that too): the
    data path renamed to the loaded key."""
    named = dataset.get("data_prefix")
    keys = [step.get("key") for step in dataset.get("pipeline") or []
            if isinstance(step, dict) and step.get("type") == "LoadImageFromFile"]
    if dataset.get("type") != "BasicImageDataset" or not isinstance(named, dict) or len(named) != 1 \
            or len(keys) != 1 or keys[0] in named:
        return []
    return [f"{path}.dataset.data_prefix=dict({keys[0]}={next(iter(named.values()))!r})"]


AOT_MIN_SIDE = 48


def _uses_aot_blocks(cfg: dict) -> bool:
    neck = ((cfg.get("model") or {}).get("encdec") or {}).get("dilation_neck") or {}
    return isinstance(neck, dict) and neck.get("type") == "AOTBlockNeck"


def size_options(cfg: dict, sizes: Sizes) -> list[str]:
    """Training crops and the networks' image sides set to the trial's sizes."""
    options = []
    patch = max(sizes.crop // 2, 8)  # LIIF's low-resolution training patch
    fixed = _fixed_input(cfg)
    if fixed:
        sizes.crop = fixed
    options += _network_minimums(cfg, sizes)
    if _uses_aot_blocks(cfg):  # their 8-dilated reflection padding needs feature maps over 8 px at 1/4 size
        sizes.image = max(sizes.image, AOT_MIN_SIDE)
    for path, loader in loaders(cfg):
        dataset = loader.get("dataset") or {}
        scale = dataset_scale(cfg, dataset)
        for index, step in enumerate(dataset.get("pipeline") or []):
            if isinstance(step, dict) and "gt_patch_size" in step:  # (a multiple of the scale, as the LR crop needs)
                crop = sizes.crop + (-sizes.crop) % scale
                options.append(f"{path}.dataset.pipeline.{index}.gt_patch_size={crop}")
            elif isinstance(step, dict) and "patch_size" in step and "scale_max" in step:
                # LIIF's RandomDownSampling: an LR patch, cut from an image scale_max times as large
                options.append(f"{path}.dataset.pipeline.{index}.patch_size={patch}")
                sizes.crop = max(sizes.crop, patch * int(-(-float(step["scale_max"]) // 1)))
            elif isinstance(step, dict) and "sample_quantity" in step:  # LIIF: query pixels of the GT patch
                options.append(f"{path}.dataset.pipeline.{index}.sample_quantity={patch ** 2}")
        if dataset.get("type") == "SinGANDataset":  # the pyramid's bounds follow the written image
            options += [f"{path}.dataset.min_size={sizes.image}", f"{path}.dataset.max_size={2 * sizes.image + 8}"]
        options += _load_key_prefix(path, dataset)
    model = cfg.get("model") or {}
    if "num_upblocks" in (model.get("train_settings") or {}):  # MSPIE: reals are (4 + s)·2^num_upblocks px
        options.append(f"model.train_settings.num_upblocks={max(sizes.image.bit_length() - 3, 0)}")
    generator, disc = model.get("generator") or {}, model.get("discriminator") or {}
    prior_scale = _prior_scale(generator)
    if prior_scale:  # GLEAN: the ground truth is out_size, the input in_size (a power of two ≥ 4)
        degraded = any(_degrades_on_the_fly(loader.get("dataset") or {}) for _, loader in loaders(cfg))
        sizes.image = max(sizes.image, 4 * prior_scale, DEGRADATION_CROP if degraded else 0)  # (see degradation_options)
        options += [f"model.generator.in_size={sizes.image // prior_scale}", f"model.generator.out_size={sizes.image}"]
        if "in_size" in disc:
            options.append(f"model.discriminator.in_size={sizes.image}")
    elif "out_size" in generator and "in_size" in disc:  # StyleGAN-like: the image side is the networks'
        options += [f"model.generator.out_size={sizes.image}", f"model.discriminator.in_size={sizes.image}"]
    if generator.get("type") in ("TriplaneGenerator", "EG3DGenerator"):
        # EG3D: rendered at half the side and super-resolved ×2; tri-planes of twice the side
        half = sizes.image // 2
        options += [f"model.generator.out_size={sizes.image}", f"model.generator.sr_in_size={half}",
                    f"model.generator.neural_rendering_resolution={half}",
                    f"model.generator.triplane_size={2 * sizes.image}"]
    if "nkimgs_per_scale" in model:  # progressive growing (PGGAN, StyleGANv1): one iteration at half the side,
        # then the side, so that the test samples at the networks' full scale
        if "out_scale" in generator and "in_scale" in disc:
            options += [f"model.generator.out_scale={sizes.image}", f"model.discriminator.in_scale={sizes.image}"]
        options.append(f"model.nkimgs_per_scale={{'{sizes.image // 2}': {TRIAL_BATCH / 1000}, '{sizes.image}': 1}}")
    for path, loader in loaders(cfg):
        dataset = loader.get("dataset") or {}
        scale = dataset_scale(cfg, dataset)
        if scale == 1:
            options += pipeline_options(f"{path}.dataset.pipeline", dataset.get("pipeline") or [], sizes.image,
                                        training=path.startswith("train"))
        else:
            crop = max(sizes.crop, DEGRADATION_CROP)
            if _degrades_on_the_fly(dataset):  # the ground truth is cut to `crop` first
                sizes.image = max(sizes.image, crop + (-crop) % scale)
            options += degradation_options(f"{path}.dataset.pipeline", dataset.get("pipeline") or [],
                                           crop + (-crop) % scale, scale)
        options += frame_options(path, dataset)
    options += metric_size_options(cfg, sizes.image)
    from .matting import matting_size_options  # (it reads the loaders through this module)

    return options + matting_size_options(cfg, sizes)


def _crops(pipeline: list) -> bool:
    return any(isinstance(step, dict) and (step.get("type") in ("Crop", "FixedCrop") or _crops(
        step.get("transforms") if isinstance(step.get("transforms"), list) else [step.get("transforms")]))
        for step in pipeline)


def _mask_config(config: dict, side: int) -> dict:
    """LoadMask's ``mask_config`` at ``side`` pixels: boxes, strokes and margins scaled from MMagic's 256 px."""
    shrunk = dict(config, img_shape=(side, side))
    ratio = side / max(int((config.get("img_shape") or (256,))[0]), 1)
    for key in ("max_bbox_shape", "length_range", "brush_width"):
        if isinstance(config.get(key), (list, tuple)):
            shrunk[key] = tuple(max(1, int(value * ratio)) for value in config[key])
    for key in ("max_bbox_delta", "min_margin"):
        if isinstance(config.get(key), (int, float)):
            shrunk[key] = max(1, int(config[key] * ratio))
    return shrunk


def pipeline_options(path: str, pipeline: list, side: int, training: bool) -> list[str]:
    """Resizes to a fixed side, crops and masks of an image pipeline (MMagic's GAN, translation and
    inpainting pipelines, TransformBroadcaster's inner ones too) at ``side`` pixels; a training Resize
    that a crop follows keeps 4 pixels to crop (pix2pix's jitter)."""
    options = []
    for index, step in enumerate(pipeline):
        if not isinstance(step, dict):
            continue
        here = f"{path}.{index}"
        if step.get("type") == "Resize" and isinstance(step.get("scale"), (list, tuple)):
            resized = side + 4 if training and _crops(pipeline[index + 1:]) else side
            options.append(f"{here}.scale=({resized},{resized})")
        elif step.get("type") in ("Crop", "FixedCrop", "RandomResizedCrop") and "crop_size" in step:
            options.append(f"{here}.crop_size=({side},{side})")
        elif step.get("type") == "LoadMask" and isinstance(step.get("mask_config"), dict) \
                and step.get("mask_mode", "bbox") != "set":
            options.append(f"{here}.mask_config={_mask_config(step['mask_config'], side)!r}".replace(" ", ""))
        elif step.get("type") == "TransformBroadcaster":
            inner = step.get("transforms")
            if isinstance(inner, dict):
                options += [option.replace(f"{here}.transforms.0", f"{here}.transforms")
                            for option in pipeline_options(f"{here}.transforms", [inner], side, training)]
            elif isinstance(inner, list):
                options += pipeline_options(f"{here}.transforms", inner, side, training)
    return options


# RealBasicVSR's two random down-resizes (×0.15 and ×0.3 at worst, sizes kept even) leave 2 pixels of a
# 64-pixel crop and none of a 32-pixel one
DEGRADATION_CROP = 64


def degradation_options(path: str, pipeline: list, crop: int, scale: int) -> list[str]:
    """A pipeline that degrades its ground truth on the fly (Real-ESRGAN, RealBasicVSR): its (Fixed)Crop at
    ``crop`` and each RandomResize to a fixed ``target_size`` (also inside DegradationsWithShuffle's
    groups) at ``crop / scale``, the low-quality side the network's ×scale output must match."""
    options = []

    def visit(here: str, step) -> None:
        if isinstance(step, (list, tuple)):
            for index, item in enumerate(step):
                visit(f"{here}.{index}", item)
        elif isinstance(step, dict):
            if step.get("type") in ("FixedCrop", "Crop") and "crop_size" in step:
                options.append(f"{here}.crop_size=({crop},{crop})")
            elif step.get("type") == "RandomResize" and "target_size" in (step.get("params") or {}):
                options.append(f"{here}.params.target_size=({crop // scale},{crop // scale})")
            elif isinstance(step.get("degradations"), list):
                visit(f"{here}.degradations", step["degradations"])

    visit(path, pipeline)
    return options


def metric_dicts(cfg: dict) -> Iterator[tuple[str, dict]]:
    """(--cfg-options path, metric dict) of every metric of the val/test evaluators."""
    from mgx.core.config.evaluators import evaluator_entries

    for key in EVALUATORS:
        for entry in evaluator_entries(cfg.get(key), key):
            for path, metric in zip(entry.metric_paths, entry.metrics):
                if isinstance(metric, dict):
                    yield re.sub(r"\[(\d+)\]", r".\1", path), metric


def metric_size_options(cfg: dict, side: int) -> list[str]:
    """Metrics that fix an image shape (SWD's ``image_shape``) at the trial's side."""
    return [f"{path}.image_shape=(3,{side},{side})" for path, metric in metric_dicts(cfg)
            if metric.get("type") == "SWD" and "image_shape" in metric]


def frame_options(path: str, dataset: dict) -> list[str]:
    """A video dataset's clip length cut to a trial's (``frames.trial_frames``)."""
    from .frames import trial_frames

    options = []
    for key in ("num_input_frames", "fixed_seq_len"):
        value = dataset.get(key)
        if isinstance(value, int) and trial_frames(value) != value:
            options.append(f"{path}.dataset.{key}={trial_frames(value)}")
    return options


def run_options(cfg: dict) -> list[str]:
    """Batch sizes, two iterations (one epoch for an epoch-based loop) with a validation at the end,
    and ``fake_nums`` of every metric that has one."""
    options = [f"{path}.batch_size={TRIAL_BATCH}" for path, _ in loaders(cfg)]
    train_cfg = cfg.get("train_cfg") or {}
    if not cfg.get("train_dataloader"):
        pass  # a conversion/inference config (MMagic sets train_cfg = train_dataloader = None): test only
    elif train_cfg.get("by_epoch") or train_cfg.get("type") == "EpochBasedTrainLoop":
        options += ["train_cfg.max_epochs=1", "train_cfg.val_interval=1"]
    else:
        options += ["train_cfg.max_iters=2", "train_cfg.val_interval=2"]
    return options + [f"{path}.fake_nums={TRIAL_FAKE_NUMS}" for path, metric in metric_dicts(cfg) if "fake_nums" in metric]
