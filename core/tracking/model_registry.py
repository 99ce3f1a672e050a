"""The trained network as an MLflow model: logged at the end of a training, optionally registered.

At the end of a finished training the engine logs the best checkpoint's network (the last
one when no ``save_best`` metric is kept) with ``mlflow.pytorch`` as an MLflow 3 *logged
model* linked to the run and to its metrics at that checkpoint's step. When the config
evaluates ``sample_model='ema'`` the EMA weights are the ones logged. With
``tracking.register_model='NAME'`` the model becomes a new version of the registered model
``NAME``. A generator (a network with ``sample()`` and ``latent_dim``) gets
:mod:`mgx.core.tracking.generator_pyfunc` as its pyfunc flavor, so
``mlflow.pyfunc.load_model(...).predict(count)`` and ``mlflow models serve`` return images. A
network that saves itself in its library's format (a diffusion model's diffusers folder) is logged as
that folder (:mod:`mgx.core.tracking.pretrained_folder`), so that library alone loads it.
"""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgx.core.engine.checkpoint_state import CheckpointState
from mgx.core.errors import ConfigError
from mgx.core.tracking.pretrained_folder import FLAVOR, PretrainedFolderFlavor, writes_own_format
from mgx.core.tracking.pretrained_folder import requirements as pretrained_requirements
from mgx.core.tracking.pretrained_folder import signature as pretrained_signature

log = logging.getLogger("mgx.tracking")

# set on the run once its trained model is logged, so that a late close (core/run/closing.py)
# does not log it twice
LOGGED_MODEL_TAG = "mgx.logged_model"

MODEL_NAME = "model"
GENERATOR_LOADER = "mgx.core.tracking.generator_pyfunc"


def check_registry_name(name: Any) -> str | None:
    """``tracking.register_model`` checked as MLflow checks registered-model names (ConfigError if invalid)."""
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"tracking.register_model={name!r} must be a non-empty model name, e.g. 'dcgan-digits'")
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_model_name

    try:
        _validate_model_name(name)
    except MlflowException as exc:
        raise ConfigError(f"tracking.register_model={name!r} is not a valid MLflow model name: {exc.message}") from None
    return name


def is_generator(network: Any) -> bool:
    return callable(getattr(network, "sample", None)) and getattr(network, "latent_dim", None) is not None


class _GeneratorFlavor:
    """A flavor for ``Model.log``: mlflow.pytorch's files, with the generator pyfunc loader."""

    __name__ = "mlflow.pytorch"

    @staticmethod
    def save_model(path: str, mlflow_model: Any, **kwargs: Any) -> None:
        import mlflow.pytorch
        from mlflow.models.model import MLMODEL_FILE_NAME

        mlflow.pytorch.save_model(path=path, mlflow_model=mlflow_model, **kwargs)
        mlflow_model.flavors["python_function"]["loader_module"] = GENERATOR_LOADER
        mlflow_model.save(os.path.join(path, MLMODEL_FILE_NAME))


@dataclass
class LoggedModel:
    model_id: str
    model_uri: str
    registered_version: str | None
    weights: str  # "ema" or "model"
    checkpoint: Path


def _requirements() -> list[str]:
    # given explicitly: MLflow would otherwise import the model in a subprocess to guess them
    import mlflow
    import torch

    from mgx.core.tracking.run_info import mgx_version

    return [f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={mlflow.__version__}", f"mgx=={mgx_version()}"]


def network_from_checkpoint(model_cfg: dict, state: CheckpointState, use_ema: bool) -> tuple[Any, str]:
    """A fresh CPU network built from ``model_cfg`` holding the checkpoint's weights (EMA ones when
    ``use_ema`` and the checkpoint has them)."""
    from mgx.core.engine.checkpoint_state import load_model_weights
    from mgx.core.registry import build

    network = build(dict(model_cfg), "model")
    weights, which = state.evaluation_weights(use_ema)
    load_model_weights(network, weights, which)
    return network.eval(), which


def log_trained_model(uri: str, run_id: str, model_cfg: dict, checkpoint: Path, use_ema: bool,
                      register_as: str | None) -> LoggedModel:
    """Log the network of ``checkpoint`` to run ``run_id`` (and register it as ``register_as``)."""
    import mlflow
    import mlflow.pytorch
    from mlflow.models import Model

    from mgx.core.engine.checkpoint import read_checkpoint

    state = read_checkpoint(checkpoint)
    network, which = network_from_checkpoint(model_cfg, state, use_ema)
    step = state.meta.iteration
    experiment_id = mlflow.MlflowClient(uri).get_run(run_id).info.experiment_id
    # MLflow's model logging reads the process-wide store and experiment: point them at this run's
    with _process_store(uri, experiment_id), _quiet_pickle_warning():
        options = dict(artifact_path=None, name=MODEL_NAME, run_id=run_id, step=step, registered_model_name=register_as,
                       pip_requirements=_requirements(), await_registration_for=0,
                       tags={"mgx.weights": which, "mgx.checkpoint": checkpoint.name})
        if writes_own_format(network):  # a diffusers pipeline folder is the model: diffusers alone loads it
            info = Model.log(flavor=PretrainedFolderFlavor, network=network, signature=pretrained_signature(), **{
                **options, "pip_requirements": pretrained_requirements()})
        elif is_generator(network):
            info = Model.log(flavor=_GeneratorFlavor, pytorch_model=network, flavor_name="pytorch",
                             **_pytorch_defaults(), **options)
        else:
            # MLflow 3's default format outside Databricks is 'pt2', which needs an input example to
            # trace; the pickled module is what mlflow.pytorch.load_model returns as the network
            info = mlflow.pytorch.log_model(network, serialization_format="pickle", **options)
    # at once, not through the run's queue: a kill right after must not make a late close log it twice
    mlflow.MlflowClient(uri).set_tag(run_id, LOGGED_MODEL_TAG, info.model_id)
    version = str(info.registered_model_version) if register_as else None
    log.info("logged the %s weights of %s as MLflow model %s%s", which, checkpoint.name, info.model_uri,
             f", registered as models:/{register_as}/{version}" if version else "")
    return LoggedModel(info.model_id, info.model_uri, version, which, checkpoint)


_PROCESS_STORE_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID")


@contextlib.contextmanager
def _process_store(uri: str, experiment_id: str | None = None):
    """MLflow's fluent model functions use the process-wide store: set it for the block only.

    ``mlflow.set_tracking_uri``/``set_registry_uri`` also export ``MLFLOW_*_URI`` for child
    processes; setting the old values back would leave the derived default exported (a later
    subprocess then read its registry from another store), so the variables and MLflow's own
    settings are put back exactly as they were."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {name: os.environ.get(name) for name in _PROCESS_STORE_ENV}
    saved = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if experiment_id is not None:
        os.environ["MLFLOW_EXPERIMENT_ID"] = experiment_id
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved[0])  # None: back to the environment/default
        registry_utils._registry_uri = saved[1]
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _quiet_pickle_warning():
    """mlflow.pytorch warns on every pickled model; mgx networks are its own importable classes."""
    logger = logging.getLogger("mlflow.pytorch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def load_registered_network(uri: str, model_uri: str) -> tuple[Any, str | None, int]:
    """(network, source run id, step) of an MLflow model (``models:/NAME/VERSION``, ``models:/m-...``,
    ``runs:/...``) in the store ``uri``; ConfigError when it cannot be found."""
    import mlflow
    import mlflow.pytorch
    from mlflow.exceptions import MlflowException

    if not isinstance(model_uri, str) or not model_uri.startswith(("models:/", "runs:/")):
        raise ConfigError(f"--model {model_uri!r}: give a model URI such as models:/NAME/1 (a registered "
                          "version) or models:/m-<id> (a logged model)")
    with _process_store(uri), _quiet_pickle_warning():
        try:
            info = mlflow.models.get_model_info(model_uri)
            if FLAVOR in info.flavors:
                raise ConfigError(
                    f"--model {model_uri} is a {info.flavors[FLAVOR].get('pipeline_class') or 'diffusers'} folder, "
                    f"not an mgx network: test it with model=dict(type='DiffusionPipeline', from_pretrained=FOLDER) "
                    f"where FOLDER = mlflow.artifacts.download_artifacts('{model_uri}')")
            network = mlflow.pytorch.load_model(model_uri, map_location="cpu")
        except MlflowException as exc:
            raise ConfigError(f"--model {model_uri}: not found in {uri} ({exc.message.splitlines()[0]}); "
                              "list registered models in the MLflow UI (`mgx ui`)") from None
    step = 0
    if info.model_id:
        try:
            step = int(mlflow.MlflowClient(uri).get_logged_model(info.model_id).metrics[0].step)
        except (MlflowException, IndexError, TypeError, AttributeError):
            step = 0
    return network.eval(), info.run_id, step


def _pytorch_defaults() -> dict:
    """What mlflow.pytorch.log_model passes to Model.log besides the user's options."""
    from mlflow.pytorch import pickle_module

    return {"pickle_module": pickle_module, "serialization_format": "pickle", "export_model": False}


# at the end of a training whose store went offline: how long a /health probe may take (a store that
# answers does so in milliseconds) and, when it answers, how long the spool's replay may take
END_PROBE_S = 0.5
END_RECONNECT_WAIT_S = 5.0


def log_model_at_end(tracker: Any, model_cfg: dict, checkpoint: Path | None, use_ema: bool, logger: Any) -> None:
    """The engine's call at the end of a finished training: log ``checkpoint``'s network to the
    tracker's run (registering it per ``tracking.register_model``); a failure is only a warning. A
    store known to be down is not waited for again: the model goes into the spool as a record that
    ``mgx sync`` (or the next start in the work dir) carries out once the store answers."""
    from mgx.core.tracking.spool import OFFLINE_PREFIX

    from mgx.core.tracking.server import health_failure

    settings = tracker.settings
    if not settings.log_model or checkpoint is None or not Path(checkpoint).is_file():
        return
    # a store that was only slow at a checkpoint answers again now (a quick /health says so: one that
    # still does not is not waited for a second time in the outage) and gets the spool replayed first
    if tracker.store_offline and health_failure(tracker.tracking_uri, END_PROBE_S) is None:
        tracker.reconnect(END_RECONNECT_WAIT_S)
    if str(tracker.run_id).startswith(OFFLINE_PREFIX) or tracker.store_offline:
        tracker.spool_model(model_cfg, Path(checkpoint), use_ema, settings.register_model)
        logger.warning(f"tracking store unreachable: the trained model ({Path(checkpoint).name}) is logged to "
                       f"MLflow by `mgx sync {tracker.work_dir}` once the store answers")
        return
    tracker.flush()  # the run's metrics are in the store before the model links them
    try:
        log_trained_model(tracker.tracking_uri, tracker.run_id, model_cfg, Path(checkpoint), use_ema,
                          settings.register_model)
    except Exception as exc:  # noqa: BLE001 - the training itself succeeded
        logger.warning(f"could not log the trained model to MLflow: {type(exc).__name__}: {exc}")


def log_spooled_model(uri: str, run_id: str, record: dict) -> bool:
    """Carry out a spooled ``model`` record (see ``log_model_at_end``) on run ``run_id``; False when the
    run has its model already (a replay repeated) — raises FileNotFoundError without the checkpoint."""
    import mlflow

    if LOGGED_MODEL_TAG in mlflow.MlflowClient(uri).get_run(run_id).data.tags:
        return False
    checkpoint = Path(record["checkpoint"])
    if not checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint {checkpoint} of the spooled model of run {run_id} is gone")
    log_trained_model(uri, run_id, record["model_cfg"], checkpoint, bool(record["use_ema"]), record.get("register"))
    return True


def evaluates_ema(eval_sets: list) -> bool:
    """Whether any validation metric samples the EMA model (``sample_model='ema'``)."""
    for eval_set in eval_sets or []:
        for metric in getattr(eval_set.evaluator, "metrics", []):
            if getattr(metric, "sample_model", None) == "ema":
                return True
    return False


__all__ = ["LOGGED_MODEL_TAG", "LoggedModel", "check_registry_name", "evaluates_ema", "is_generator",
           "load_registered_network", "log_model_at_end", "log_spooled_model", "log_trained_model",
           "network_from_checkpoint"]
