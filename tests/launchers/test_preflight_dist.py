"""Pre-flight under `--launcher dist` (2 CPU processes): a problem only one rank sees is reported by
every rank in the same message, the job fails before training and records no MLflow run."""
import os
import time

import pytest

from launcher_helpers import TINY_CONFIG, run_mgx, runs_in

pytestmark = pytest.mark.slow

RANK_LOCAL_PLUGIN = '''
from mgx.core import distributed
from mgx.core.errors import MgxError
from mgx.core.evaluation import GenerativeMetric
from mgx.core.hookspecs import hookimpl


class RankLocalWeights(GenerativeMetric):
    """Its weights are 'missing' on rank 1 only (a node without the file)."""

    def result_keys(self):
        return ["value"]

    def prepare_resources(self):
        if distributed.get_rank() == 1:
            raise MgxError("weights.pt is missing on rank 1: copy it to /shared/weights.pt")

    def process_fake(self, images, indices):
        pass

    def compute(self):
        return {"value": 0.0}


@hookimpl
def mgx_register_metrics(register):
    register(RankLocalWeights)
'''


@pytest.mark.timeout(240)
def test_a_problem_on_one_rank_stops_every_rank_before_training(tmp_path):
    (tmp_path / "rank_local_plugin.py").write_text(RANK_LOCAL_PLUGIN)
    config = tmp_path / "tiny.py"
    config.write_text(TINY_CONFIG + "val_evaluator = dict(type='Evaluator', metrics=[\n"
                      "    dict(type='RankLocalWeights', prefix='RL', fake_nums=8)])\n"
                      "default_hooks['checkpoint']['save_best'] = 'RL/nope'\n")
    started = time.monotonic()
    result = run_mgx(["run", "train", str(config), "--launcher", "dist", "--gpus", "2", "--work-dir",
                      str(tmp_path / "work")], cwd=tmp_path, timeout=200, MGX_PLUGINS="rank_local_plugin",
                     PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert time.monotonic() - started < 150
    # both ranks raise the same gathered message (rank 0 included, though its own file is there)
    assert output.count("pre-flight found 2 problem(s)") >= 2, output[-4000:]
    assert "weights.pt is missing on rank 1" in output and "save_best='RL/nope'" in output
    assert "Iter(train)" not in output
    assert not list((tmp_path / "work").glob("*.pth"))
    assert not (tmp_path / "mlflow.db").exists() or runs_in(tmp_path) == []
