"""Pre-flight: what can be checked without training is, before iteration 0 (and before a test's
first batch); every problem in one message, exit 2, no traceback, no MLflow run, nothing trained.

The metrics here are a third-party plugin written from docs/plugins.md alone: the generative
example is taken from the docs' code block itself, so the docs cannot drift from what works.
"""
from __future__ import annotations

import os
import re
import sqlite3
import textwrap
from pathlib import Path

import pytest
import torch

from engine_helpers import HERE, REPO, mgx_command, mgx_env, write_tiny_config

pytestmark = pytest.mark.timeout(300)

DOCS = REPO / "docs" / "plugins.md"


def docs_example(class_name: str) -> str:
    """The python code block of docs/plugins.md that defines ``class_name``."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    [block] = [b for b in blocks if f"class {class_name}(" in b]
    return block


# What a plugin author wrote after reading "GenerativeMetric is named in the docs" — a BaseMetric
# with needs_fakes/needs_reals but none of GenerativeMetric's attributes, and one whose __init__
# forgets super(): before pre-flight these crashed at the first validation with AttributeError.
MISREAD_METRICS = '''
import torch
from mgx.core.evaluation import BaseMetric


class Sharpness(BaseMetric):
    default_prefix = "Sharp"
    needs_fakes = True

    def process_fake(self, images, indices):
        self.value = float(images.std())

    def compute(self):
        return {"std": self.value}


class RealContrast(BaseMetric):
    needs_reals = True

    def __init__(self, scale=1.0):
        self.scale = scale

    def process_real(self, images, indices):
        self.value = float(images.std()) * self.scale

    def compute(self):
        return {"contrast": self.value}
'''

PLUGIN_HOOKS = '''
from mgx.core.hookspecs import hookimpl


@hookimpl
def mgx_register_metrics(register):
    register(MeanBrightness)
    register(Sharpness)
    register(RealContrast)
'''


@pytest.fixture
def docs_plugin(tmp_path: Path) -> dict[str, str]:
    """A plugin module made of the docs' generative-metric example plus misread metrics; the env to load it."""
    folder = tmp_path / "plugin_src"
    folder.mkdir()
    source = "\n".join([docs_example("MeanBrightness"), MISREAD_METRICS, PLUGIN_HOOKS])
    (folder / "docs_metrics_plugin.py").write_text(source)
    cache = tmp_path / "empty_cache"
    cache.mkdir()
    env = {"PYTHONPATH": os.pathsep.join([str(folder), str(HERE), os.environ.get("PYTHONPATH", "")]),
           "MGX_PLUGINS": "engine_test_plugin,docs_metrics_plugin",
           "MGX_OFFLINE": "1", "MGX_CACHE_DIR": str(cache)}
    return env


def _mgx(*args: str, cwd: Path, env: dict[str, str]):
    import subprocess

    full_env = mgx_env(**env)
    for name in ("MGX_INCEPTION_STYLEGAN_PATH", "MGX_VGG16_SCRIPT_PATH", "MLFLOW_TRACKING_URI"):
        full_env.pop(name, None)
    return subprocess.run(mgx_command(*args), cwd=cwd, env=full_env, capture_output=True, text=True, timeout=280)


def _mlflow_runs(folder: Path) -> int:
    """Runs recorded in the workspace's default store (0 when it was never created)."""
    database = folder / "mlflow.db"
    if not database.exists():
        return 0
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master where type='table'")}
        return connection.execute("select count(*) from runs").fetchone()[0] if "runs" in tables else 0


def _refused(result, *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr
    message = result.stderr
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return message


RESTORATION_WITH_GENERATIVE_METRICS = """
model = dict(type='BaseEditModel', pixel_loss=dict(type='L1Loss'),
             generator=dict(type='SRCNNNet', channels=(3, 8, 4, 3), kernel_sizes=(3, 1, 3), upscale_factor=1))
train_dataloader = dict(batch_size=8, drop_last=True,
    dataset=dict(type='DigitsDataset', image_size=16, split='train',
                 pipeline=[dict(type='DegradeForRestoration', scale=2, key='gt'), dict(type='PackInputs')]),
    sampler=dict(type='InfiniteSampler', shuffle=True))
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
train_cfg = dict(by_epoch=False, max_iters=4, val_begin=1, val_interval=2)
val_dataloader = dict(batch_size=16,
    dataset=dict(type='DigitsDataset', image_size=16, split='val', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='SWD', fake_nums=32, image_shape=(3, 16, 16)),
    dict(type='FID', fake_nums=32, inception_style='StyleGAN'),
    dict(type='Sharpness'),
    dict(type='RealContrast'),
    dict(type='PSNR', fake_nums=3),
])
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, save_best='PSNR/psnr'))
randomness = dict(seed=3)
"""


def test_train_reports_every_problem_before_iteration_zero_and_records_nothing(tmp_path: Path,
                                                                              docs_plugin: dict) -> None:
    config = tmp_path / "restore.py"
    config.write_text(RESTORATION_WITH_GENERATIVE_METRICS)
    work = tmp_path / "work"
    result = _mgx("run", "train", str(config), "--work-dir", str(work), cwd=tmp_path, env=docs_plugin)
    message = _refused(
        result, "pre-flight found",
        # a metric that fails to build sits beside the others, and the other metrics are still checked
        "val_evaluator.metrics[4]", "'PSNR' got unknown argument(s) fake_nums",
        # the contract, naming what is missing (no AttributeError 'sample_model' / 'real_key' / 'prefix' later)
        "val_evaluator.metrics[2]: Sharpness sets needs_fakes = True but has no positive integer 'fake_nums'",
        "Sharpness sets needs_fakes = True but its 'sample_model' is None", "GenerativeMetric",
        "RealContrast has no 'prefix' attribute", "super().__init__(prefix=prefix)",
        "RealContrast sets needs_reals = True but has no 'real_key'",
        # what the model lacks for each generative metric
        "val_evaluator.metrics[0] (SlicedWassersteinDistance) needs what model BaseEditModel lacks (model.sample: ",
        "implement sample and latent_dim (docs/models.md)",
        # missing weights, offline: the file and where to put it
        "val_evaluator.metrics[1] (FrechetInceptionDistance)", "inception-2015-12-05.pt",
        str(tmp_path / "empty_cache" / "weights" / "inception-2015-12-05.pt"), "MGX_INCEPTION_STYLEGAN_PATH",
        # save_best against the keys the metrics declare
        "save_best='PSNR/psnr' but no metric of val_evaluator produces it", "SWD/16, SWD/avg",
        # the training pipeline on its first sample
        "train_dataloader: the dataset pipeline fails on the first sample (index 0)", "no field 'gt'")
    assert message.count("pre-flight found") == 1
    assert "AttributeError" not in message
    assert "Iter(train)" not in result.stderr
    assert not list(work.glob("*.pth")) and not (work / "last_checkpoint").exists()
    assert _mlflow_runs(tmp_path) == 0


def test_the_docs_generative_metric_works_and_its_save_best_key_is_accepted(tmp_path: Path,
                                                                            docs_plugin: dict) -> None:
    config = write_tiny_config(tmp_path, max_iters=2, val_interval=2, ckpt_interval=2, extra=textwrap.dedent("""
        val_evaluator = dict(type='Evaluator', metrics=[dict(type='MeanBrightness', fake_nums=16)])
        default_hooks['checkpoint']['save_best'] = 'Brightness/gap'
        """))
    work = tmp_path / "work"
    result = _mgx("run", "train", str(config), "--work-dir", str(work), "--no-track", cwd=tmp_path, env=docs_plugin)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Brightness/fake" in result.stderr and "Brightness/gap" in result.stderr
    assert list(work.glob("best_Brightness_gap_*.pth"))


def test_test_command_runs_preflight_before_its_first_batch(tmp_path: Path, docs_plugin: dict) -> None:
    config = write_tiny_config(tmp_path, extra=textwrap.dedent("""
        test_dataloader = val_dataloader
        test_evaluator = dict(type='Evaluator', metrics=[
            dict(type='KID', fake_nums=32, subset_size=16), dict(type='Sharpness'), dict(type='MeanBrightness')])
        """))
    from mgx.plugins.models.dcgan import DCGAN

    checkpoint = tmp_path / "dcgan.pth"
    torch.save({"model": DCGAN(latent_dim=8, image_size=16, channels=3, base_channels=8).state_dict(), "meta": {}},
               checkpoint)
    work = tmp_path / "work"
    result = _mgx("run", "test", str(config), str(checkpoint), "--work-dir", str(work), cwd=tmp_path,
                  env=docs_plugin)
    _refused(result, "pre-flight found 3 problem(s)", "test_evaluator.metrics[0] (KernelInceptionDistance)",
             "inception-2015-12-05.pt", "test_evaluator.metrics[1]: Sharpness sets needs_fakes = True")
    assert not (work / "test_results.json").exists()
    assert _mlflow_runs(tmp_path) == 0


def test_every_unknown_component_type_is_listed_at_once(tmp_path: Path, docs_plugin: dict) -> None:
    config = write_tiny_config(tmp_path, extra=textwrap.dedent("""
        model = dict(type='TinyVAE', latent_dim=8)
        val_dataloader['dataset'] = dict(type='VAEImages', pipeline=[dict(type='PackInputs'), dict(type='Jitter')])
        val_evaluator = dict(type='Evaluator', metrics=[dict(type='ReconError'), dict(type='MeanBrightnes')])
        """))
    result = _mgx("run", "train", str(config), "--work-dir", str(tmp_path / "work"), cwd=tmp_path, env=docs_plugin)
    message = _refused(result, "uses 5 component types that no loaded plugin registers",
                       "model.type: unknown model type 'TinyVAE'",
                       "val_dataloader.dataset.type: unknown dataset type 'VAEImages'",
                       "val_dataloader.dataset.pipeline[1].type: unknown transform type 'Jitter'",
                       "val_evaluator.metrics[0].type: unknown metric type 'ReconError'",
                       "val_evaluator.metrics[1].type: unknown metric type 'MeanBrightnes'. "
                       "Did you mean 'MeanBrightness'?",
                       "a plugin provides it, that plugin may not be installed", "`mgx plugins`")
    assert "PackInputs'" not in message and "'DigitsDataset'" not in message
    assert _mlflow_runs(tmp_path) == 0
