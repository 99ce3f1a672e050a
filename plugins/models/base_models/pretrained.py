"""Generator weights from a checkpoint: MMagic's ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)``.

``checkpoint`` is a local path or a URL; a URL is fetched once into
``$MGX_CACHE_DIR/weights/`` through mgx's hashed download path (OpenMMLab file
names end in ``-<8 hex>.pth``, the start of the file's sha256, which is then
checked). The file may be an MMagic/MMEngine checkpoint (``state_dict``) or an
mgx one (``model``). ``prefix`` (e.g. ``'generator.'``) selects and strips the
generator's keys. Loading is strict: a missing or extra key is a ConfigError.
"""
from __future__ import annotations

import os
import re
from urllib.parse import urlparse

import torch
from torch import nn

from mgx.core.engine.checkpoint_state import weights_of
from mgx.core.errors import ConfigError

from ...feature_extractors.weights import WeightsSpec, resolve_weights

_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,})\.pth$")


def split_init_cfg(cfg: dict, who: str) -> tuple[dict, dict | None]:
    """(generator cfg without ``init_cfg``, the ``init_cfg`` if it asks for pretrained weights)."""
    cfg = dict(cfg)
    init_cfg = cfg.pop("init_cfg", None)
    if init_cfg is None:
        return cfg, None
    if not isinstance(init_cfg, dict) or init_cfg.get("type") != "Pretrained":
        raise ConfigError(f"{who}.init_cfg: only dict(type='Pretrained', checkpoint=..., prefix=...) is supported, "
                          f"got {init_cfg!r}")
    unknown = set(init_cfg) - {"type", "checkpoint", "prefix", "map_location"}
    if unknown or not init_cfg.get("checkpoint"):
        raise ConfigError(f"{who}.init_cfg needs checkpoint= (a path or URL) and takes prefix=; got {init_cfg!r}")
    return cfg, init_cfg


def local_checkpoint(source: str) -> str:
    if urlparse(source).scheme in ("http", "https"):
        name = os.path.basename(urlparse(source).path)
        match = _HASH_IN_NAME.search(name)
        spec = WeightsSpec(filename=name, url=source, sha256=match.group(1) if match else None,
                           description=f"pretrained weights {name}")
        return str(resolve_weights(spec))
    path = os.path.expanduser(source)
    if not os.path.isfile(path):
        raise ConfigError(f"init_cfg checkpoint {source} does not exist")
    return path


def load_pretrained(module: nn.Module, init_cfg: dict, who: str) -> None:
    path = local_checkpoint(str(init_cfg["checkpoint"]))
    state = read_weights_file(path, who)
    prefix = init_cfg.get("prefix") or ""
    if prefix and not prefix.endswith("."):  # MMEngine reads prefix='generator_ema' as 'generator_ema.'
        prefix += "."
    weights = {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}
    if not weights:
        raise ConfigError(f"{who}: no key of {path} starts with prefix {prefix!r}")
    custom = getattr(module, "load_pretrained_weights", None)
    if callable(custom):  # a network whose pretrained file is another network's (GLEAN: a StyleGAN2 generator)
        try:
            custom(weights)
        except RuntimeError as exc:  # load_state_dict's missing/unexpected/shape message
            raise ConfigError(f"{who}: {path} (prefix {prefix!r}) does not fit {type(module).__name__}: "
                              f"{str(exc).splitlines()[0]} …") from None
        return
    check_fit(module, weights, f"{who}: {path} (prefix {prefix!r})")
    module.load_state_dict(weights)


def read_weights_file(path: str, who: str) -> dict:
    """The weights in a PyTorch file (an mgx checkpoint, an MMEngine one, or a bare state dict) or in a
    ``.safetensors`` file."""
    try:
        if str(path).endswith(".safetensors"):
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a PyTorch file, or one that needs arbitrary unpickling
        raise ConfigError(f"{who}: cannot read pretrained checkpoint {path} ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return weights_of(state) if isinstance(state, dict) else state


def check_fit(module: nn.Module, weights: dict, what: str, allow_missing: tuple[str, ...] = ()) -> None:
    """A ConfigError naming ``what`` unless ``weights`` has exactly ``module``'s keys and shapes."""
    own = module.state_dict()
    missing = sorted(set(own) - set(weights) - set(allow_missing))
    unexpected = sorted(set(weights) - set(own))
    wrong = sorted(k for k in set(own) & set(weights) if own[k].shape != weights[k].shape)
    if missing or unexpected or wrong:
        raise ConfigError(f"{what} does not fit {type(module).__name__}: missing {missing[:5]}, "
                          f"unexpected {unexpected[:5]}, shape mismatch {wrong[:5]}")


def load_part_weights(module: nn.Module, source: str, who: str, allow_missing: tuple[str, ...] = ()) -> None:
    """A network part's own file (MMagic's ``spynet_pretrained``/``edvr_pretrained``: a path or URL), its keys
    bare or under ``generator.``; ``allow_missing`` keys (buffers MMagic registers after loading) keep
    their values. Anything else that does not fit is a ConfigError naming the file."""
    path = local_checkpoint(source)
    state = read_weights_file(path, who)
    if state and all(key.startswith("generator.") for key in state):
        state = {key[len("generator."):]: value for key, value in state.items()}
    check_fit(module, state, f"{who}: {path}", allow_missing)
    module.load_state_dict({**module.state_dict(), **state})
