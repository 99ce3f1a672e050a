"""Small synthetic data in the layouts MMagic 1.2.0's configs expect, and the overrides of a trial run.

A trial runs an MMagic config as a new user would: only data paths, image sizes/crops, batch
sizes, iterations and ``fake_nums`` change. ``prepare_trial(cfg, root)`` reads the config's
dataloaders and writes, under ``root`` (the folder the commands run in: MMagic's data roots are
relative, ``data/DIV2K``), the files each dataset reads — folders named by ``data_prefix``, file
names by ``filename_tmpl``, meta-info files named by ``ann_file``, low-resolution partners at the
config's scale — and returns the ``--cfg-options`` and environment both commands need.

Used by ``benchmarks/zoo_trials.py`` (every config of a family) and by the CI tests of each family
(``from mgx.benchmarks.zoo_data import prepare_trial``). A dataset type without a writer raises
:class:`NoWriter`; a family adds its writer to ``WRITERS`` (``type name -> function(dataset cfg,
root, sizes)``). Pretrained parts and the metrics' feature networks are replaced by stand-ins of
the same interface with random weights (``stand_in_pretrained``, ``write_stand_in_weights``):
nothing is downloaded, and the numbers the trial prints say nothing about quality.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")
EVALUATORS = ("val_evaluator", "test_evaluator")
TRIAL_FAKE_NUMS = 8
TRIAL_BATCH = 2
TTSR_DISC_SIDE = 96


@dataclass
class Sizes:
    crop: int = 32          # a training crop (PairedRandomCrop.gt_patch_size...)
    image: int = 32         # generated images, when the networks fix it (out_size/in_size)
    count: int = 8          # images per dataset folder
    scale: int = 1          # set per dataset: low-resolution partners are image/scale


@dataclass
class Trial:
    options: list[str] = field(default_factory=list)  # --cfg-options for `mgx run train` and `mgx run test`
    env: dict[str, str] = field(default_factory=dict)  # stand-in weights of the metrics' networks
    written: list[Path] = field(default_factory=list)  # dataset folders written
    test_only: bool = False  # the config has no training part (MMagic's conversion configs)


class NoWriter(Exception):
    """The config reads a dataset type for which no synthetic-data writer exists (yet)."""


# -- images ---------------------------------------------------------------------------------


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """An RGB uint8 image with photo-like smooth content (bicubic upsampling of 8×8 noise)."""
    from PIL import Image

    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC))


def save_image(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def downscale(image: np.ndarray, scale: int) -> np.ndarray:
    from PIL import Image

    height, width = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((width // scale, height // scale), Image.Resampling.BICUBIC))


# -- dataset writers --------------------------------------------------------------------------


def _prefixes(dataset: dict) -> dict[str, str]:
    prefix = dataset.get("data_prefix")
    if prefix is None:
        return {"img": ""}
    if isinstance(prefix, str):
        return {"img": prefix}
    return {key: value or "" for key, value in prefix.items()}


def _under(root: Path, path: str | None) -> Path:
    """``path`` under ``root`` (an absolute one too: trials never write outside their folder)."""
    text = str(path or "")
    while text.startswith(("./", "/")):
        text = text[1:] if text.startswith("/") else text[2:]
    return root / text if text not in ("", ".") else root


def write_basic_image_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's BasicImageDataset: one folder per ``data_prefix`` field under ``data_root``; ``gt``
    at full size, ``img`` at 1/scale (its LR partner), any other field at full size; ``ann_file``
    lists the ``gt`` names with their shape, as MMagic's meta-info files do."""
    data_root = _under(root, dataset.get("data_root"))
    prefixes = _prefixes(dataset)
    templates = {key: "{}" for key in prefixes} | dict(dataset.get("filename_tmpl") or {})
    rng = np.random.default_rng(0)
    crops = any(isinstance(step, dict) and ("gt_patch_size" in step or "patch_size" in step)
                for step in dataset.get("pipeline") or [])
    if sizes.scale > 1:  # big enough for the crop, divisible by 2, 3, 4 and the scale
        side = max(sizes.crop, sizes.image)
        side += (-side) % (12 * sizes.scale // int(np.gcd(12, sizes.scale)))
    else:  # (a network that fixes its input side gets exactly it)
        side = max(sizes.crop, sizes.image) if crops else sizes.image
    names = [f"{index + 1:04d}" for index in range(sizes.count)]
    for name in names:
        full = smooth_image(rng, side, side)
        for key, prefix in prefixes.items():
            image = downscale(full, sizes.scale) if key == "img" and "gt" in prefixes and sizes.scale > 1 else full
            save_image(image, data_root / prefix / (templates[key].format(name) + ".png"))
    if dataset.get("ann_file"):
        ann = _under(data_root, dataset["ann_file"])
        ann.parent.mkdir(parents=True, exist_ok=True)
        search = dataset.get("search_key") or next(iter(prefixes))
        ann.write_text("".join(f"{templates[search].format(n)}.png ({side},{side},3)\n" for n in names))
    return data_root


def write_images(folder: Path, count: int, size: int, seed: int = 2) -> Path:
    """``folder/<n>.png``: ``count`` smooth RGB images, ``size`` px square."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        save_image(smooth_image(rng, size, size), folder / f"{index}.png")
    return folder


def write_pair_images(folder: Path, count: int, size: int, seed: int = 1) -> Path:
    """``folder/<n>.png``: A left of B, ``size`` × 2·``size`` (B is A's colour inverse, so a pair reads as a
    pair in a sample grid)."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        a = smooth_image(rng, size, size)
        save_image(np.concatenate([a, 255 - a], axis=1), folder / f"{index}.png")
    return folder


def write_paired_image_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's PairedImageDataset: ``data_root/{train,test_dir}/<n>.png`` pairs."""
    data_root = _under(root, dataset.get("data_root"))
    for phase in ("train", dataset.get("test_dir", "test")):
        write_pair_images(data_root / phase, sizes.count, sizes.image)
    return data_root


def write_unpaired_image_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's UnpairedImageDataset: unrelated images in ``data_root/{train,test}{A,B}``."""
    data_root = _under(root, dataset.get("data_root"))
    for seed, folder in enumerate(("trainA", "trainB", "testA", "testB")):
        write_images(data_root / folder, sizes.count, sizes.image, seed)
    return data_root


def write_cifar10(dataset: dict, root: Path, sizes: Sizes, num_classes: int = 10) -> Path:
    """MMagic's CIFAR10: the python pickles (``data`` N×3072 uint8 rows, ``labels``) of
    ``data_root/data_prefix/cifar-10-batches-py``, ``sizes.count`` 32×32 images each."""
    import pickle

    folder = _under(_under(root, dataset.get("data_root")), dataset.get("data_prefix")) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = np.stack([smooth_image(rng, 32, 32).transpose(2, 0, 1).reshape(-1) for _ in range(sizes.count)])
        labels = [int(v) for v in rng.integers(0, num_classes, sizes.count)]
        (folder / name).write_bytes(pickle.dumps({"data": images, "labels": labels}))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class{i}" for i in range(num_classes)]}))
    return folder


def write_conditional_dataset(dataset: dict, root: Path, sizes: Sizes, classes: int = 3) -> Path:
    """MMagic's BasicConditionalDataset / ImageNet: ``data_root/data_prefix/class<i>/<j>.png`` (not square,
    so the long-edge crops crop) and, when the config names one, ``ann_file`` listing
    ``class<i>/<j>.png i`` (ImageNet's ``meta/train.txt``)."""
    data_root = _under(root, dataset.get("data_root"))
    prefix = dataset.get("data_prefix") or ""
    images = _under(data_root, prefix if isinstance(prefix, str) else next(iter(prefix.values()), ""))
    rng = np.random.default_rng(4)
    lines = []
    for label in range(classes):
        for index in range(max(1, sizes.count // classes)):
            save_image(smooth_image(rng, sizes.image, sizes.image + 8), images / f"class{label}" / f"{index}.png")
            lines.append(f"class{label}/{index}.png {label}\n")
    if dataset.get("ann_file"):
        ann = _under(data_root, dataset["ann_file"])
        ann.parent.mkdir(parents=True, exist_ok=True)
        ann.write_text("".join(lines))
    return images


WRITERS: dict[str, Callable[[dict, Path, Sizes], Path]] = {
    "BasicImageDataset": write_basic_image_dataset, "PairedImageDataset": write_paired_image_dataset,
    "UnpairedImageDataset": write_unpaired_image_dataset, "CIFAR10": write_cifar10,
    "ImageNet": write_conditional_dataset, "BasicConditionalDataset": write_conditional_dataset}


def write_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """Write what ``dataset`` (a config's ``dict(type=..., ...)``) reads; returns the folder written."""
    name = dataset.get("type")
    if name not in WRITERS:
        raise NoWriter(f"no synthetic-data writer for dataset type {name!r} (benchmarks/zoo_data.py WRITERS)")
    return WRITERS[name](dataset, root, sizes)


# -- reading the config -------------------------------------------------------------------------


def loaders(cfg: dict) -> Iterator[tuple[str, dict]]:
    """(--cfg-options path, dataloader dict) of every dataloader, lists included."""
    for key in LOADERS:
        value = cfg.get(key)
        items = [(f"{key}.{i}", item) for i, item in enumerate(value)] if isinstance(value, (list, tuple)) \
            else [(key, value)]
        yield from ((path, item) for path, item in items if isinstance(item, dict))


def dataset_scale(cfg: dict, dataset: dict) -> int:
    """The super-resolution scale of a dataset: SetValues(scale=...) in its pipeline, the config's
    ``scale``, the generator's ``upscale_factor``, or an ``x4``/``X4`` in its folder names."""
    for step in dataset.get("pipeline") or []:
        if isinstance(step, dict) and isinstance((step.get("dictionary") or {}).get("scale"), int):
            return step["dictionary"]["scale"]
    generator = (cfg.get("model") or {}).get("generator") or {}
    for value in (cfg.get("scale"), generator.get("upscale_factor"), generator.get("scale")):
        if isinstance(value, int) and value > 0:
            return value
    match = re.search(r"[xX](\d)", " ".join(_prefixes(dataset).values()))
    return int(match.group(1)) if match else 1


def _fixed_input(cfg: dict) -> int | None:
    """The input side a discriminator fixes (MMagic's ModifiedVGG: 128), which training crops must match."""
    disc = (cfg.get("model") or {}).get("discriminator") or {}
    if disc.get("type") == "ModifiedVGG":
        return int(disc.get("input_size", 128))
    return None


def _network_minimums(cfg: dict, sizes: Sizes) -> None:
    """Sizes the networks and metrics need: SwinIR reflect-pads its input to whole windows (at least one
    window per side), NIQE reads two 96×96 blocks of the output."""
    scales = [dataset_scale(cfg, loader.get("dataset") or {}) for _, loader in loaders(cfg)] or [1]
    window = ((cfg.get("model") or {}).get("generator") or {}).get("window_size")
    if isinstance(window, int):
        sizes.crop = max(sizes.crop, window * max(scales))
    if _uses([cfg.get(key) for key in EVALUATORS], "NIQE"):
        sizes.image = max(sizes.image, -(-192 // max(min(scales), 1)))


def size_options(cfg: dict, sizes: Sizes) -> list[str]:
    """Training crops and the networks' image sides set to the trial's sizes."""
    options = []
    patch = max(sizes.crop // 2, 8)  # LIIF's low-resolution training patch
    fixed = _fixed_input(cfg)
    if fixed:
        sizes.crop = fixed
    _network_minimums(cfg, sizes)
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
    model = cfg.get("model") or {}
    generator, disc = model.get("generator") or {}, model.get("discriminator") or {}
    if disc.get("type") == "TTSRDiscriminator":  # its side: a multiple of 32 (and of 12, see the writer)
        sizes.image = max(sizes.image, TTSR_DISC_SIDE)
        options.append(f"model.discriminator.in_size={TTSR_DISC_SIDE}")
    if "out_size" in generator and "in_size" in disc:  # StyleGAN-like: the image side is the networks'
        options += [f"model.generator.out_size={sizes.image}", f"model.discriminator.in_size={sizes.image}"]
        for path, loader in loaders(cfg):  # a Resize to a fixed side (StyleGAN3's 256 px lanczos) follows it
            for index, step in enumerate((loader.get("dataset") or {}).get("pipeline") or []):
                if isinstance(step, dict) and step.get("type") == "Resize" and isinstance(step.get("scale"),
                                                                                        (list, tuple)):
                    options.append(f"{path}.dataset.pipeline.{index}.scale=({sizes.image},{sizes.image})")
    return options


def run_options(cfg: dict) -> list[str]:
    """Batch sizes, two iterations (one epoch for an epoch-based loop) with a validation at the end,
    and ``fake_nums`` of every metric that has one."""
    from mgx.core.config.evaluators import evaluator_entries

    options = [f"{path}.batch_size={TRIAL_BATCH}" for path, _ in loaders(cfg)]
    train_cfg = cfg.get("train_cfg") or {}
    if not cfg.get("train_dataloader"):
        pass  # a conversion/inference config (MMagic sets train_cfg = train_dataloader = None): test only
    elif train_cfg.get("by_epoch") or train_cfg.get("type") == "EpochBasedTrainLoop":
        options += ["train_cfg.max_epochs=1", "train_cfg.val_interval=1"]
    else:
        options += ["train_cfg.max_iters=2", "train_cfg.val_interval=2"]
    for key in EVALUATORS:
        for entry in evaluator_entries(cfg.get(key), key):
            for path, metric in zip(entry.metric_paths, entry.metrics):
                if isinstance(metric, dict) and "fake_nums" in metric:
                    dotted = re.sub(r"\[(\d+)\]", r".\1", path)
                    options.append(f"{dotted}.fake_nums={TRIAL_FAKE_NUMS}")
    return options


# -- stand-ins for downloaded weights ------------------------------------------------------------


def stand_in_checkpoint(config: Path, options: list[str], path: Path) -> Path:
    """The published checkpoint a conversion config (no training part) evaluates, stood in for by the
    weights of the model the config builds: spectral-norm vectors and BN statistics settled by a few
    training-mode samples, as a trained checkpoint's are. The plugins must be active."""
    from mgx.core.config import load_config, to_plain
    from mgx.core.registry import build

    cfg = to_plain(load_config(str(config), [o for o in options if o.startswith("model.")]))
    torch.manual_seed(0)
    model = build(cfg["model"], "model").train()
    if callable(getattr(model, "sample", None)):
        with torch.no_grad():
            for _ in range(5):
                for which in ("orig", "ema"):
                    model.sample(2, sample_model=which)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict()}, path)
    return path


def _pretrained(value: Any, path: str) -> Iterator[tuple[str, dict]]:
    if isinstance(value, dict):
        init = value.get("init_cfg")
        if isinstance(init, dict) and init.get("type") == "Pretrained" and isinstance(value.get("type"), str):
            yield path, value
        for key, item in value.items():
            yield from _pretrained(item, f"{path}.{key}")


def stand_in_pretrained(cfg: dict, folder: Path) -> list[str]:
    """For every ``init_cfg=dict(type='Pretrained', checkpoint=URL)`` of a registered network: the
    network built with random weights, saved in MMEngine's layout (``state_dict``, keys under the
    init_cfg's ``prefix``), and the override pointing ``checkpoint`` at it."""
    from mgx.core.registry import build

    options = []
    for path, component in _pretrained(cfg.get("model"), "model"):
        init = component["init_cfg"]
        network = build({k: v for k, v in component.items() if k != "init_cfg"}, "model")
        target = folder / f"{path.replace('.', '_')}-random.pth"
        folder.mkdir(parents=True, exist_ok=True)
        prefix = init.get("prefix") or ""
        torch.save({"state_dict": {prefix + key: value for key, value in network.state_dict().items()}}, target)
        options.append(f"{path}.init_cfg.checkpoint={target}")
    return options


class FakeNvidiaInception(torch.nn.Module):
    """The call signature of NVIDIA's TorchScript Inception (inception-2015-12-05.pt), tiny and random."""

    def forward(self, x: torch.Tensor, return_features: bool = False, no_output_bias: bool = False):
        flat = x.float().mean(dim=(2, 3)) / 255.0
        features = torch.cat([flat, flat.square(), flat.sqrt()], dim=1).repeat(1, 4)
        return features if return_features else torch.softmax(features[:, :3], dim=1)


class FakeNvidiaVGG16(torch.nn.Module):
    """The call signature of NVIDIA's TorchScript VGG16 (vgg16.pt), tiny and random."""

    def forward(self, x: torch.Tensor, resize_images: bool = True, return_lpips: bool = False,
                return_features: bool = False):
        pooled = torch.nn.functional.adaptive_avg_pool2d(x.float() / 255.0, 4).flatten(1)
        return pooled / (pooled.square().sum(dim=1, keepdim=True).sqrt() + 1e-8)


def write_stand_in_weights(folder: Path, perceptual_vgg19: bool = False, pytorch_inception: bool = False
                           ) -> dict[str, str]:
    """Stand-ins for the metrics' (and PerceptualLoss's) downloaded networks; the environment that
    points mgx at them. Written once per folder."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {}
    for name, net, variable in (("inception-2015-12-05.pt", FakeNvidiaInception(), "MGX_INCEPTION_STYLEGAN_PATH"),
                                ("vgg16.pt", FakeNvidiaVGG16(), "MGX_VGG16_SCRIPT_PATH")):
        if not (folder / name).exists():
            with warnings.catch_warnings():  # (TorchScript is what NVIDIA's files are; its deprecation is noise here)
                warnings.simplefilter("ignore", FutureWarning)
                torch.jit.save(torch.jit.script(net), str(folder / name))
        env[variable] = str(folder / name)
    if perceptual_vgg19:
        vgg = folder / "vgg19-random.pth"
        if not vgg.exists():
            from torchvision.models.vgg import cfgs, make_layers

            torch.save({f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}, vgg)
        env["MGX_VGG19_TORCHVISION_PATH"] = str(vgg)
    if pytorch_inception:  # FID with inception_style='PyTorch': pytorch-fid's network, random
        inception = folder / "pt_inception-random.pth"
        if not inception.exists():
            from mgx.plugins.feature_extractors.inception_pytorch import FIDInceptionV3

            torch.save(FIDInceptionV3(load_weights=False).state_dict(), inception)
        env["MGX_INCEPTION_PYTORCH_PATH"] = str(inception)
    return env


def _has_setting(value: Any, key: str, wanted: str) -> bool:
    if isinstance(value, dict):
        return str(value.get(key, "")).lower() == wanted or any(_has_setting(v, key, wanted) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_setting(item, key, wanted) for item in value)
    return False


def _uses(value: Any, type_name: str) -> bool:
    if isinstance(value, dict):
        return value.get("type") == type_name or any(_uses(item, type_name) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_uses(item, type_name) for item in value)
    return False


# -- the trial --------------------------------------------------------------------------------


def prepare_trial(cfg: dict, root: Path, sizes: Sizes | None = None, weights: Path | None = None) -> Trial:
    """Write the data ``cfg`` reads under ``root`` and return the overrides and environment of its trial.

    ``cfg`` is a loaded config (``mgx.core.config.load_config``); the commands must run with
    ``root`` as their working directory (relative data roots). The plugins must be active
    (``PluginManager().activate()``) when the config has pretrained parts to stand in for.
    ``weights`` (default ``root/weights``) holds the stand-in networks, shareable between trials."""
    sizes = sizes or Sizes()
    trial = Trial(test_only=not cfg.get("train_dataloader"))
    trial.options += size_options(cfg, sizes)
    trial.options += run_options(cfg)
    seen: set[tuple] = set()
    for path, loader in loaders(cfg):
        dataset = dict(loader.get("dataset") or {})
        if Path(str(dataset.get("data_root") or "")).is_absolute():  # relocated into the trial's folder
            dataset["data_root"] = str(_under(root, dataset["data_root"]))
            trial.options.append(f"{path}.dataset.data_root={dataset['data_root']}")
        per_set = Sizes(sizes.crop, sizes.image, sizes.count, dataset_scale(cfg, dataset))
        signature = (repr(sorted(dataset.items(), key=lambda kv: kv[0])), per_set.scale)
        if signature not in seen:
            seen.add(signature)
            trial.written.append(write_dataset(dataset, root, per_set))
    weights = weights or root / "weights"
    trial.options += stand_in_pretrained(cfg, weights)
    from mgx.benchmarks.zoo_data_faces import stand_in_face_detector, stand_in_feature_losses

    trial.options += stand_in_feature_losses(cfg, weights) + stand_in_face_detector(loaders(cfg))
    trial.env.update(write_stand_in_weights(
        weights, perceptual_vgg19=any(_uses(cfg.get("model"), name) for name in ("PerceptualLoss", "LTE")),
        pytorch_inception=any(_has_setting(cfg.get(key), "inception_style", "pytorch") for key in EVALUATORS)))
    return trial


__all__ = ["FakeNvidiaInception", "FakeNvidiaVGG16", "NoWriter", "Sizes", "Trial", "WRITERS", "prepare_trial",
           "run_options", "save_image", "size_options", "smooth_image", "stand_in_checkpoint", "stand_in_pretrained",
           "write_cifar10",
           "write_conditional_dataset", "write_dataset", "write_images", "write_pair_images",
           "write_paired_image_dataset", "write_stand_in_weights", "write_unpaired_image_dataset"]
