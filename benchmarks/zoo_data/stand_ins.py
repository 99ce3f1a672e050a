"""Stand-ins for what a trial would download: the published checkpoint of a conversion config, the
pretrained sub-networks (``init_cfg=dict(type='Pretrained')``) and the metrics' feature networks, all
with random weights and the real ones' interfaces. The numbers a trial prints say nothing about quality."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Iterator

import torch


def stand_in_checkpoint(config: Path, options: list[str], path: Path) -> Path:
    """The published checkpoint a conversion config (no training part) evaluates, stood in for by the
    weights of the model the config builds: spectral-norm vectors and BN statistics settled by a few
    training-mode samples, as a trained checkpoint's are. The plugins must be active."""
    from mgx.core.config import load_config, to_plain
    from mgx.core.registry import build

    cfg = to_plain(load_config(str(config), [o for o in options if o.startswith("model.")]))
    torch.manual_seed(0)
    model = build(cfg["model"], "model").train()
    if callable(getattr(model, "sample", None)) and _has_running_state(model):
        with torch.no_grad():
            for _ in range(5):
                for which in ("orig", "ema"):
                    model.sample(2, sample_model=which)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict()}, path)
    return path


def _has_running_state(model: torch.nn.Module) -> bool:
    """Batch-norm statistics or spectral-norm vectors, which sampling in training mode settles (a
    diffusion model has neither, and sampling it takes many network passes)."""
    return any(isinstance(module, torch.nn.modules.batchnorm._BatchNorm) for module in model.modules()) or any(
        name.endswith("_u") for name, _ in model.named_buffers())


def _pretrained(value: Any, path: str) -> Iterator[tuple[str, dict]]:
    if isinstance(value, dict):
        init = value.get("init_cfg")
        if isinstance(init, dict) and init.get("type") == "Pretrained" and isinstance(value.get("type"), str):
            yield path, value
        for key, item in value.items():
            yield from _pretrained(item, f"{path}.{key}")


# networks whose init_cfg checkpoint holds one of their parts (GLEAN: a StyleGAN2 generator for its latent bank)
PRETRAINED_PART = {"GLEANStyleGANv2": "generator"}


def stand_in_pretrained(cfg: dict, folder: Path) -> list[str]:
    """For every ``init_cfg=dict(type='Pretrained', checkpoint=URL)`` of a registered network: the
    network (or the part of it the checkpoint holds) built with random weights, saved in MMEngine's
    layout (``state_dict``, keys under the init_cfg's ``prefix`` and its dot), and the override pointing
    ``checkpoint`` at it."""
    from mgx.core.registry import build

    options = []
    for path, component in _pretrained(cfg.get("model"), "model"):
        init = component["init_cfg"]
        network = build({k: v for k, v in component.items() if k != "init_cfg"}, "model")
        if component["type"] in PRETRAINED_PART:
            network = getattr(network, PRETRAINED_PART[component["type"]])
        target = folder / f"{path.replace('.', '_')}-random.pth"
        folder.mkdir(parents=True, exist_ok=True)
        prefix = init.get("prefix") or ""
        prefix = prefix if not prefix or prefix.endswith(".") else prefix + "."
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


def write_random_vgg(path: Path, vgg_type: str) -> Path:
    """A torchvision-layout VGG16/19 file with random weights (the ImageNet one is a download); name it in
    MGX_VGG19_TORCHVISION_PATH / MGX_VGG16_TORCHVISION_PATH. Written once."""
    if not path.exists():
        from torchvision.models.vgg import cfgs, make_layers

        layers = make_layers(cfgs[{"vgg16": "D", "vgg19": "E"}[vgg_type]])
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({f"features.{k}": v for k, v in layers.state_dict().items()}, path)
    return path


def write_stand_in_weights(folder: Path, perceptual_vgg19: bool = False, pytorch_inception: bool = False,
                           perceptual_vgg16: bool = False, inception_resnet_v2: bool = False) -> dict[str, str]:
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
        env["MGX_VGG19_TORCHVISION_PATH"] = str(write_random_vgg(folder / "vgg19-random.pth", "vgg19"))
    if perceptual_vgg16:  # PerceptualLoss(vgg_type='vgg16'): GLEAN's
        env["MGX_VGG16_TORCHVISION_PATH"] = str(write_random_vgg(folder / "vgg16-random.pth", "vgg16"))
    if pytorch_inception:  # FID with inception_style='PyTorch': pytorch-fid's network, random
        inception = folder / "pt_inception-random.pth"
        if not inception.exists():
            from mgx.plugins.feature_extractors.inception_pytorch import FIDInceptionV3

            torch.save(FIDInceptionV3(load_weights=False).state_dict(), inception)
        env["MGX_INCEPTION_PYTORCH_PATH"] = str(inception)
    if inception_resnet_v2:  # DeblurGANv2's FPNInception backbone: the 1001-class ImageNet file's layout, random
        backbone = folder / "inceptionresnetv2-random.pth"
        if not backbone.exists():
            from mgx.plugins.models.deblurganv2.backbones import InceptionResNetV2

            torch.save(InceptionResNetV2(num_classes=1001).state_dict(), backbone)
        env["MGX_INCEPTIONRESNETV2_PATH"] = str(backbone)
    return env


def has_setting(value: Any, key: str, wanted: str) -> bool:
    if isinstance(value, dict):
        return str(value.get(key, "")).lower() == wanted or any(has_setting(v, key, wanted) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_setting(item, key, wanted) for item in value)
    return False


def uses(value: Any, type_name: str) -> bool:
    if isinstance(value, dict):
        return value.get("type") == type_name or any(uses(item, type_name) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(uses(item, type_name) for item in value)
    return False


def _spynet(_: dict) -> torch.nn.Module:
    from mgx.plugins.models.ops.flow import SPyNet

    return SPyNet()


def _edvr_extractor(generator: dict) -> torch.nn.Module:
    from mgx.plugins.models.ops.edvr_modules import EDVRFeatureExtractor

    padding = int(generator.get("padding", 2))
    return EDVRFeatureExtractor(mid_channels=int(generator.get("mid_channels", 64)), num_frames=2 * padding + 1,
                                center_frame_idx=padding)


def _tof_spynet(generator: dict) -> torch.nn.Module:
    from mgx.plugins.models.tof.spynet import TOFlowSPyNet

    return TOFlowSPyNet(norm_cfg=(generator.get("flow_cfg") or {}).get("norm_cfg"))


# generator arguments naming a published file (MMagic's ``spynet_pretrained=URL``; a dotted name is an
# argument inside a dict argument, TOFlowVFINet's ``flow_cfg.pretrained``): the network they load
PRETRAINED_ARGUMENTS = {"spynet_pretrained": _spynet, "edvr_pretrained": _edvr_extractor,
                        "flow_cfg.pretrained": _tof_spynet}


def _argument(component: dict, dotted: str) -> Any:
    value: Any = component
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def stand_in_pretrained_arguments(cfg: dict, folder: Path) -> list[str]:
    """For every ``<name>_pretrained=URL`` of ``PRETRAINED_ARGUMENTS`` in a model's networks: the network
    with random weights saved in MMagic's file layout, and the override pointing the argument at it."""
    options = []
    for network, component in ((cfg.get("model") or {}).items()):
        if not isinstance(component, dict):
            continue
        for argument, build in PRETRAINED_ARGUMENTS.items():
            if str(_argument(component, argument) or "").startswith(("http://", "https://")):
                target = folder / f"model_{network}_{argument}-random.pth"
                folder.mkdir(parents=True, exist_ok=True)
                state = {k: v for k, v in build(component).state_dict().items() if k not in ("mean", "std")}
                torch.save({"state_dict": state}, target)
                options.append(f"model.{network}.{argument}={target}")
    return options
