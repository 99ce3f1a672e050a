"""The ``python_function`` flavor of a logged mgx generator: ``predict(count)`` -> images.

A generator mgx logs to MLflow keeps the ``pytorch`` flavor (``mlflow.pytorch.load_model``
returns the network) and gets this module as its pyfunc loader, so that
``mlflow.pyfunc.load_model(uri).predict(...)`` and ``mlflow models serve`` sample images:

- ``predict(4)`` or ``predict({"count": 4})``: four images from fresh random latents;
- ``predict({"seeds": [1, 2, 3]})``: one image per seed, the same for the same seed on any machine;
- ``"truncation": t`` (either form): latents drawn from a standard normal truncated to [-t, t]
  (values outside are drawn again), the truncation trick that trades variety for fidelity;
- a DataFrame (what the scoring server makes of ``dataframe_records``) with columns
  ``count`` or ``seed`` (one image per row) and optionally ``truncation``.

It returns uint8 images, ``count × height × width × channels``.
"""
from __future__ import annotations

import secrets
from typing import Any

MAX_IMAGES = 1024


class GeneratorPredictor:
    """What ``mlflow.pyfunc.load_model`` returns (through MLflow's PyFuncModel) for a generator."""

    def __init__(self, network: Any, device: Any = "cpu") -> None:
        self.network = network.eval()
        self.device = device

    # MLflow calls predict(model_input) or predict(model_input, params=...)
    def predict(self, model_input: Any, params: dict | None = None) -> Any:
        seeds, truncation = parse_request(model_input, params or {})
        return sample_images(self.network, seeds, truncation, self.device)

    def get_raw_model(self) -> Any:
        return self.network


def _scalar(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        value = value.reshape(-1).tolist()
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"expected one value, got {len(value)}: {value!r}")
        value = value[0]
    return value.item() if hasattr(value, "item") else value


def _seed_list(value: Any) -> list[int]:
    import numpy as np

    if isinstance(value, np.ndarray):
        value = value.reshape(-1).tolist()
    if not isinstance(value, (list, tuple)):
        value = [value]
    return [int(v) for v in value]


def parse_request(model_input: Any, params: dict) -> tuple[list[int], float | None]:
    """(seeds, truncation) from any input form predict accepts; ValueError for a bad request."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - MLflow depends on pandas
        pd = None
    request: dict[str, Any] = {}
    if pd is not None and isinstance(model_input, pd.DataFrame):
        if "seed" in model_input.columns:
            request["seeds"] = [int(v) for v in model_input["seed"].tolist()]
        elif "count" in model_input.columns:
            request["count"] = model_input["count"].iloc[0]
        elif model_input.shape[1] == 1:
            request["count"] = model_input.iloc[0, 0]
        if "truncation" in model_input.columns:
            request["truncation"] = model_input["truncation"].iloc[0]
    elif isinstance(model_input, dict):
        request = dict(model_input)
    else:
        request["count"] = model_input
    request.update({k: v for k, v in params.items() if k in ("count", "seeds", "truncation")})
    if request.get("seeds") is not None:
        seeds = _seed_list(request["seeds"])
        if request.get("count") is not None and int(_scalar(request["count"])) != len(seeds):
            raise ValueError(f"count={_scalar(request['count'])} but {len(seeds)} seeds were given")
    else:
        if request.get("count") is None:
            raise ValueError("give the number of images: predict(4), {'count': 4} or {'seeds': [...]}")
        count = int(_scalar(request["count"]))
        if not 1 <= count <= MAX_IMAGES:
            raise ValueError(f"count must be between 1 and {MAX_IMAGES}, got {count}")
        seeds = [secrets.randbelow(2**31) for _ in range(count)]
    truncation = request.get("truncation")
    truncation = None if truncation is None else float(_scalar(truncation))
    if truncation is not None and truncation <= 0:
        raise ValueError(f"truncation must be > 0, got {truncation}")
    return seeds, truncation


def latent(seed: int, dim: int, truncation: float | None) -> Any:
    """The latent of one seed: standard normal, optionally truncated to [-t, t] by redrawing."""
    import torch

    generator = torch.Generator().manual_seed(int(seed))
    z = torch.randn(dim, generator=generator)
    if truncation is not None:
        outside = z.abs() > truncation
        while bool(outside.any()):
            z[outside] = torch.randn(int(outside.sum()), generator=generator)
            outside = z.abs() > truncation
    return z


def sample_images(network: Any, seeds: list[int], truncation: float | None, device: Any = "cpu") -> Any:
    """uint8 images (N×H×W×C numpy) the generator makes from the seeds' latents."""
    import torch

    noise = torch.stack([latent(seed, int(network.latent_dim), truncation) for seed in seeds]).to(device)
    with torch.inference_mode():
        images = network.sample(noise=noise).float()
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


def _load_pyfunc(path: str, model_config: dict | None = None, weights_only: bool = False) -> GeneratorPredictor:
    """MLflow's pyfunc entry point (``loader_module`` in the MLmodel file): ``path`` is the
    pytorch flavor's data folder."""
    import mlflow.pytorch

    wrapper = mlflow.pytorch._load_pyfunc(path, model_config=model_config, weights_only=weights_only)
    return GeneratorPredictor(wrapper.pytorch_model, wrapper.device)


__all__ = ["GeneratorPredictor", "latent", "parse_request", "sample_images"]
