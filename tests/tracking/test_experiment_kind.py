"""mgx's experiments are marked as model-training experiments (MLflow 3's `mlflow.experimentKind`)."""
from __future__ import annotations

from mgx.core.tracking.store import EXPERIMENT_KIND_TAG, get_or_create_experiment, init_workspace


def _client(workspace):
    from mlflow import MlflowClient

    db_path, _ = init_workspace(workspace)
    uri = f"sqlite:///{db_path}"
    return MlflowClient(uri), uri


def test_new_and_default_experiments_get_the_model_training_kind(workspace):
    client, uri = _client(workspace)
    new_id = get_or_create_experiment(client, uri, "fresh")
    default_id = get_or_create_experiment(client, uri, None)
    for experiment_id in (new_id, default_id):
        assert client.get_experiment(experiment_id).tags[EXPERIMENT_KIND_TAG] == "custom_model_development"


def test_a_kind_already_chosen_is_kept(workspace):
    client, uri = _client(workspace)
    experiment_id = client.create_experiment("chosen", artifact_location=(workspace / "a").as_uri(),
                                             tags={EXPERIMENT_KIND_TAG: "finetuning"})
    assert get_or_create_experiment(client, uri, "chosen") == experiment_id
    assert client.get_experiment(experiment_id).tags[EXPERIMENT_KIND_TAG] == "finetuning"
