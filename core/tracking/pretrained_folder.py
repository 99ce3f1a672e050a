"""A trained model logged to MLflow in its library's own format: the folder ``network.save_pretrained``
writes (a diffusers pipeline folder for the diffusion families) *is* the MLflow model's directory,
next to the ``MLmodel`` file. So ``diffusers`` alone loads a registered version:

    folder = mlflow.artifacts.download_artifacts("models:/NAME/1")
    pipeline = diffusers.DiffusionPipeline.from_pretrained(folder)

and ``mlflow.pyfunc.load_model("models:/NAME/1").predict(["a photo of sks dog"])`` returns uint8
images (N×H×W×3; ``params={"seed": 0, "num_inference_steps": 50}``), through this module's loader.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FLAVOR = "diffusers"
LOADER = "mgx.core.tracking.pretrained_folder"


def writes_own_format(network: Any) -> bool:
    """Whether ``network`` saves itself as a diffusers folder (``save_pretrained`` + ``pipeline_parts``
    or a wrapped ``pipeline``)."""
    return callable(getattr(network, "save_pretrained", None)) and (
        callable(getattr(network, "pipeline_parts", None)) or hasattr(network, "pipeline"))


def requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    pinned = []
    for name in ("diffusers", "transformers", "safetensors", "torch"):
        try:
            pinned.append(f"{name}=={version(name).split('+')[0]}")
        except PackageNotFoundError:
            continue
    return pinned


def signature() -> Any:
    """Prompts in, uint8 images out; ``seed``, ``num_inference_steps``, ``guidance_scale`` as params."""
    import numpy as np
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

    return ModelSignature(inputs=Schema([ColSpec("string", "prompt")]),
                          outputs=Schema([TensorSpec(np.dtype(np.uint8), (-1, -1, -1, 3))]),
                          params=ParamSchema([ParamSpec("seed", "long", 0), ParamSpec("num_inference_steps", "long", 50),
                                              ParamSpec("guidance_scale", "double", 7.5)]))


class PretrainedFolderFlavor:
    """A flavor for ``mlflow.models.Model.log``: the network's own folder, plus a pyfunc loader."""

    __name__ = FLAVOR

    @staticmethod
    def save_model(path: str, mlflow_model: Any, network: Any, pip_requirements: list[str] | None = None,
                   **_: Any) -> None:
        from mlflow.models.model import MLMODEL_FILE_NAME
        from mlflow.pyfunc import add_to_model

        network.save_pretrained(path)
        index = Path(path) / "model_index.json"
        pipeline_class = json.loads(index.read_text()).get("_class_name") if index.is_file() else None
        mlflow_model.add_flavor(FLAVOR, pipeline_class=pipeline_class, folder=".")
        add_to_model(mlflow_model, loader_module=LOADER)
        mlflow_model.save(os.path.join(path, MLMODEL_FILE_NAME))
        with open(os.path.join(path, "requirements.txt"), "w") as file:
            file.write("\n".join(pip_requirements or requirements()) + "\n")


class PipelinePredictor:
    """What ``mlflow.pyfunc.load_model`` returns (through MLflow's PyFuncModel) for a pipeline folder."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def predict(self, model_input: Any, params: dict | None = None) -> Any:
        import numpy as np
        import torch

        prompts = _prompts(model_input)
        params = dict(params or {})
        generator = torch.Generator().manual_seed(int(params.pop("seed", 0)))
        images = self.pipeline(prompts, generator=generator, output_type="np", **params).images
        return (np.clip(images, 0, 1) * 255).round().astype(np.uint8)

    def get_raw_model(self) -> Any:
        return self.pipeline


def _prompts(model_input: Any) -> list[str]:
    if isinstance(model_input, str):
        return [model_input]
    if hasattr(model_input, "columns"):  # a DataFrame from the scoring server
        column = "prompt" if "prompt" in model_input.columns else model_input.columns[0]
        return [str(value) for value in model_input[column]]
    if isinstance(model_input, dict):
        value = model_input.get("prompt", model_input.get("prompts"))
        return [value] if isinstance(value, str) else [str(v) for v in value]
    return [str(value) for value in model_input]


def _load_pyfunc(path: str) -> PipelinePredictor:
    import diffusers

    pipeline = diffusers.DiffusionPipeline.from_pretrained(path)
    pipeline.set_progress_bar_config(disable=True)
    return PipelinePredictor(pipeline)
