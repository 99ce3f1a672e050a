"""Run references, the newest checkpoint artifact and environment differences, on a real
embedded store (no training)."""
from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient

from mgx.core.errors import ConfigError
from mgx.core.tracking.run_source import (download_checkpoint, environment_differences, find_run,
                                          newest_checkpoint_artifact, sha256_file)
from mgx.core.tracking.store import ensure_sqlite_store


@pytest.fixture
def store(tmp_path):
    ensure_sqlite_store(tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    return MlflowClient(uri), uri


def test_references_by_id_prefix_and_name(store):
    client, uri = store
    first = client.create_run("0", run_name="alpha").info.run_id
    second = client.create_run("0", run_name="beta").info.run_id
    assert find_run(client, first, uri).info.run_id == first
    assert find_run(client, "beta", uri).info.run_id == second
    prefix = next(n for n in range(4, 32) if first[:n] != second[:n])
    assert find_run(client, first[:prefix], uri).info.run_id == first
    client.create_run("0", run_name="alpha")
    with pytest.raises(ConfigError, match="ambiguous") as ambiguous:
        find_run(client, "alpha", uri)
    assert first in str(ambiguous.value)
    with pytest.raises(ConfigError, match="unknown run 'gamma'"):
        find_run(client, "gamma", uri)
    client.delete_run(second)
    with pytest.raises(ConfigError, match="unknown run"):
        find_run(client, second, uri)


def test_newest_checkpoint_and_checksum(store, tmp_path):
    client, uri = store
    run = client.create_run("0", run_name="r")
    run_id = run.info.run_id
    files = tmp_path / "files"
    for folder, name, data in (("last", "iter_4.pth", b"four"), ("periodic", "iter_8.pth", b"eight"),
                               ("last", "iter_8.pth", b"eight")):
        (files / folder).mkdir(parents=True, exist_ok=True)
        path = files / folder / name
        path.write_bytes(data)
        client.log_artifact(run_id, str(path), f"checkpoints/{folder}")
        sidecar = files / folder / f"{name}.sha256.json"
        sidecar.write_text(json.dumps({"file": name, "sha256": sha256_file(path), "size": len(data)}))
        client.log_artifact(run_id, str(sidecar), f"checkpoints/{folder}")
    run = client.get_run(run_id)
    assert newest_checkpoint_artifact(client, run) == ("checkpoints/last/iter_8.pth",
                                                       "checkpoints/last/iter_8.pth.sha256.json")
    got = download_checkpoint(client, run, tmp_path / "dest")
    assert got.read_bytes() == b"eight" and sorted(p.name for p in (tmp_path / "dest").iterdir()) == ["iter_8.pth"]
    bare = client.create_run("0", run_name="bare")
    with pytest.raises(ConfigError, match="no checkpoint artifact"):
        newest_checkpoint_artifact(client, client.get_run(bare.info.run_id))


def test_environment_differences(store):
    client, _ = store
    run_id = client.create_run("0", tags={"mlflow.source.git.commit": "abc", "mgx.version": "0.1.0",
                                          "mgx.plugins": "mgx-builtin==0.1.0, extra==1.0"}).info.run_id
    run = client.get_run(run_id)
    same = {"mlflow.source.git.commit": "abc", "mgx.version": "0.1.0", "mgx.plugins": "extra==1.0, mgx-builtin==0.1.0"}
    assert environment_differences(run, same) == []
    changed = {"mlflow.source.git.commit": "def", "mgx.version": "0.1.0", "mgx.plugins": "mgx-builtin==0.1.0, new==2"}
    assert environment_differences(run, changed) == [
        "git commit: recorded abc, here def",
        "plugin extra: recorded 1.0, here absent",
        "plugin new: recorded absent, here 2",
    ]
