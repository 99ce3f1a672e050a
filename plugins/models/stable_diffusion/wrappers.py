"""MMagic's component names for Hugging Face diffusers/transformers objects.

MMagic registers every diffusers model and scheduler under its own class name, built with
``from_pretrained=NAME_OR_FOLDER`` (plus ``subfolder=``), ``from_config=DICT_OR_FOLDER``, or the class's
own arguments; ``ClipWrapper(clip_type='huggingface', pretrained_model_name_or_path=..., subfolder=...)``
is a frozen ``transformers.CLIPTextModel``. mgx builds the same objects and returns the diffusers
object itself, so state-dict keys (and ``save_pretrained`` folders) are diffusers' own.
"""
from __future__ import annotations

from typing import Any, Callable

from mgx.core.errors import ConfigError

from .hub import load_pretrained

# the diffusers classes each name builds (MMagic's wrappers use the same names)
DIFFUSERS_MODELS = ("UNet2DConditionModel", "AutoencoderKL", "UNet2DModel", "ControlNetModel")
DIFFUSERS_SCHEDULERS = ("DDIMScheduler", "DDPMScheduler", "PNDMScheduler", "EulerDiscreteScheduler",
                        "EulerAncestralDiscreteScheduler", "DPMSolverMultistepScheduler", "LMSDiscreteScheduler")


def _diffusers_class(name: str) -> Any:
    import diffusers

    return getattr(diffusers, name)


def _has_accelerate() -> bool:
    import importlib.util

    return importlib.util.find_spec("accelerate") is not None


def _build(name: str, from_pretrained: Any, from_config: Any, subfolder: str | None, kwargs: dict) -> Any:
    cls = _diffusers_class(name)
    if from_pretrained is not None and from_config is not None:
        raise ConfigError(f"{name}: give from_pretrained or from_config, not both")
    if from_pretrained is not None:
        if name in DIFFUSERS_MODELS and "low_cpu_mem_usage" not in kwargs and not _has_accelerate():
            kwargs = {**kwargs, "low_cpu_mem_usage": False}  # what diffusers falls back to, without its warning
        return load_pretrained(cls.from_pretrained, from_pretrained, subfolder, name, **kwargs)
    if from_config is not None:
        if isinstance(from_config, dict):
            return cls.from_config({**from_config, **kwargs})
        config = load_pretrained(cls.load_config, from_config, subfolder, name)
        return cls.from_config(config, **kwargs)
    if subfolder is not None:
        raise ConfigError(f"{name}: subfolder={subfolder!r} needs from_pretrained= or from_config=")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _factory(name: str) -> Callable[..., Any]:
    def build_component(from_pretrained: Any = None, from_config: Any = None, subfolder: str | None = None,
                        init_cfg: Any = None, **kwargs: Any) -> Any:
        if init_cfg is not None:
            raise ConfigError(f"{name}: init_cfg is not used for diffusers components; load weights with "
                              f"from_pretrained=")
        return _build(name, from_pretrained, from_config, subfolder, kwargs)

    build_component.__name__ = build_component.__qualname__ = name
    build_component.__doc__ = (f"diffusers.{name} from ``from_pretrained`` (hub name or folder, with "
                               f"``subfolder``), ``from_config`` (dict or folder) or its own arguments.")
    return build_component


def EditDDIMScheduler(num_train_timesteps: int = 1000, beta_start: float = 0.0001, beta_end: float = 0.02,
                      beta_schedule: str = "linear", variance_type: str = "learned_range",
                      timestep_values: Any = None, clip_sample: bool = True, set_alpha_to_one: bool = True) -> Any:
    """MMagic's own DDIM scheduler, built as ``diffusers.DDIMScheduler`` with the same schedule.

    ``variance_type`` only matters for a UNet that predicts its variance (MMagic's guided-diffusion
    ``DenoisingUnet``); DDIM's deterministic update (eta=0) does not use it. ``timestep_values`` (custom
    timesteps) is not supported."""
    if timestep_values is not None:
        raise ConfigError("EditDDIMScheduler: timestep_values is not supported; leave it None")
    if variance_type not in ("learned_range", "fixed_small", "fixed_large", "learned"):
        raise ConfigError(f"EditDDIMScheduler: unknown variance_type {variance_type!r}")
    schedule = {"scaled_linear": "scaled_linear", "linear": "linear", "cosine": "squaredcos_cap_v2",
                "squaredcos_cap_v2": "squaredcos_cap_v2"}.get(beta_schedule)
    if schedule is None:
        raise ConfigError(f"EditDDIMScheduler: unknown beta_schedule {beta_schedule!r}; use linear, scaled_linear "
                          f"or cosine")
    return _diffusers_class("DDIMScheduler")(num_train_timesteps=num_train_timesteps, beta_start=beta_start,
                                             beta_end=beta_end, beta_schedule=schedule, clip_sample=clip_sample,
                                             set_alpha_to_one=set_alpha_to_one)


def ClipWrapper(clip_type: str = "huggingface", pretrained_model_name_or_path: Any = None,
                subfolder: str | None = None, config: dict | None = None, **kwargs: Any) -> Any:
    """A frozen ``transformers.CLIPTextModel`` (MMagic's ClipWrapper with ``clip_type='huggingface'``), from
    ``pretrained_model_name_or_path`` (+ ``subfolder``) or, in mgx, from a ``config`` dict
    (``transformers.CLIPTextConfig`` arguments)."""
    if clip_type != "huggingface":
        raise ConfigError(f"ClipWrapper: clip_type={clip_type!r} is not supported; mgx builds CLIP from "
                          f"transformers (clip_type='huggingface')")
    import transformers

    if (pretrained_model_name_or_path is None) == (config is None):
        raise ConfigError("ClipWrapper: give pretrained_model_name_or_path= (hub name or folder) or config=dict(...)")
    if config is not None:
        text_config = transformers.CLIPTextConfig(**config)
        model = _text_model_class(text_config)(text_config)
    else:
        text_config = load_pretrained(transformers.CLIPTextConfig.from_pretrained, pretrained_model_name_or_path,
                                      subfolder, "ClipWrapper")
        model = load_pretrained(_text_model_class(text_config).from_pretrained, pretrained_model_name_or_path,
                                subfolder, "ClipWrapper", **kwargs)
    return model.eval().requires_grad_(False)


def _text_model_class(config: Any) -> Any:
    """``CLIPTextModelWithProjection`` when the config names it (SDXL's second text encoder, whose
    projected embedding conditions the UNet), else ``CLIPTextModel``."""
    import transformers

    with_projection = "CLIPTextModelWithProjection" in (getattr(config, "architectures", None) or [])
    return transformers.CLIPTextModelWithProjection if with_projection else transformers.CLIPTextModel


def load_tokenizer(tokenizer: Any, what: str, subfolder: str = "tokenizer") -> Any:
    """MMagic's ``tokenizer=NAME``: the ``subfolder`` (``tokenizer``) of a hub name or pipeline folder, or a
    folder holding the tokenizer itself; a tokenizer object passes through."""
    if not isinstance(tokenizer, (str, dict)):
        return tokenizer
    from pathlib import Path

    import transformers

    if isinstance(tokenizer, dict):
        tokenizer = dict(tokenizer)
        name = tokenizer.pop("from_pretrained", None)
        return load_pretrained(transformers.CLIPTokenizer.from_pretrained, name, tokenizer.pop("subfolder", None),
                               f"{what}.tokenizer", **tokenizer)
    local = Path(tokenizer).expanduser()
    own_files = ("vocab.json", "tokenizer.json", "tokenizer_config.json")
    if any((local / name).is_file() for name in own_files):
        subfolder = None
    return load_pretrained(transformers.CLIPTokenizer.from_pretrained, tokenizer, subfolder, f"{what}.tokenizer")


def components() -> list:
    """The diffusers/transformers components under MMagic's names."""
    made = [_factory(name) for name in DIFFUSERS_MODELS + DIFFUSERS_SCHEDULERS]
    return [*made, EditDDIMScheduler, ClipWrapper]
