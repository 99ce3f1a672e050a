"""The whole contract between mgx and its plugins.

A plugin is a module (or, for per-run hooks, an object) with functions marked
``@hookimpl`` whose names are the hooks below. Built-in plugins use exactly
these hooks; third-party ones are found through the ``mgx`` entry-point group.

Registration hooks fire once per process, the first time a component of their
kind is needed (lazily), on every rank. Each receives a ``register`` callable
bound to its kind::

    register(component, name=None, aliases=())

``name`` defaults to ``component.__name__``. They return nothing.

Lifecycle hooks fire during a run, on every rank unless the docstring says
otherwise; ``run`` is the :class:`mgx.core.run.context.RunContext` of the run
(config, work_dir, rank, world size, model, iteration, epoch, logger). Their
return values are ignored unless documented.
"""
import pluggy

PROJECT_NAME = "mgx"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

# Registration hook name -> the kind string that ``build(cfg, kind)`` uses.
REGISTRATION_HOOKS = {
    "mgx_register_models": "model",
    "mgx_register_datasets": "dataset",
    "mgx_register_transforms": "transform",
    "mgx_register_samplers": "sampler",
    "mgx_register_metrics": "metric",
    "mgx_register_feature_extractors": "feature_extractor",
    "mgx_register_launchers": "launcher",
    "mgx_register_run_hooks": "run_hook",
    "mgx_register_loops": "loop",
}


# --- registration ---------------------------------------------------------


@hookspec
def mgx_register_models(register):
    """Register model classes, built by ``model=dict(type=...)``.

    A model is a ``torch.nn.Module`` with ``train_step(batch, optim) -> dict``,
    ``val_step(batch) -> dict`` and, for generative models, ``sample(...)``.
    """


@hookspec
def mgx_register_datasets(register):
    """Register dataset classes, built by ``dataset=dict(type=...)`` in a dataloader config."""


@hookspec
def mgx_register_transforms(register):
    """Register data transforms, built by the items of a dataset's ``pipeline`` list.

    A transform is a callable taking and returning a dict of sample fields.
    """


@hookspec
def mgx_register_samplers(register):
    """Register samplers, built by ``sampler=dict(type=...)`` in a dataloader config.

    A sampler yields dataset indices and supports ``state_dict()`` /
    ``load_state_dict()`` so that resume seeks instead of replaying data.
    """


@hookspec
def mgx_register_metrics(register):
    """Register metric classes (subclasses of ``mgx.core.evaluation.BaseMetric``),
    built by the items of an evaluator's ``metrics`` list."""


@hookspec
def mgx_register_feature_extractors(register):
    """Register feature extractors (``torch.nn.Module`` mapping RGB [0, 255]
    images to feature vectors) that metrics build by name."""


@hookspec
def mgx_register_launchers(register):
    """Register launchers, chosen by ``mgx run ... --launcher NAME``.

    A launcher prepares processes and their environment and returns an exit code
    from ``launch(request)``; see ``mgx.core.distributed.launch``.
    """


@hookspec
def mgx_register_run_hooks(register):
    """Register run-hook classes that configs enable with ``custom_hooks=[dict(type=...)]``.

    Instances are registered with the plugin manager for that run only; their
    ``@hookimpl`` methods receive the lifecycle hooks below.
    """


@hookspec
def mgx_register_loops(register):
    """Register loop classes selected by ``train_cfg``/``val_cfg``/``test_cfg`` ``type=``."""


# --- lifecycle --------------------------------------------------------------


@hookspec
def mgx_before_run(run):
    """Once per process after the model, data and optimizers are built (and a
    checkpoint was restored on resume), before the first iteration or test batch."""


@hookspec
def mgx_after_run(run, status):
    """Once per process when the run ends. ``status`` is ``"FINISHED"``,
    ``"FAILED"``, ``"KILLED"`` or ``"PREEMPTED"``. Fires on failures too."""


@hookspec
def mgx_before_train_epoch(run, epoch):
    """At the start of each training epoch (epoch-based loops; for iteration-based
    loops, each time the sampler starts a new pass over the data)."""


@hookspec
def mgx_after_train_epoch(run, epoch):
    """At the end of each training epoch, before validation for that epoch."""


@hookspec
def mgx_before_train_iter(run, iteration, batch):
    """Before each training step. ``iteration`` is the 0-based global iteration."""


@hookspec
def mgx_after_train_iter(run, iteration, batch, outputs):
    """After each training step; ``outputs`` is the dict of losses the model's
    ``train_step`` returned, as detached float32 0-dim tensors on the model's device.
    ``float(outputs['loss'])`` gives the number; on CUDA that waits for the GPU to
    finish the step, so do it only when you need it (mgx itself reads the losses
    once per log interval)."""


@hookspec
def mgx_before_val(run):
    """Before a validation pass (every dataloader of a MultiValLoop)."""


@hookspec
def mgx_after_val(run, metrics):
    """After a validation pass. ``metrics`` maps ``PREFIX/key`` to floats; on
    every rank the same values."""


@hookspec
def mgx_before_test(run):
    """Before ``mgx run test`` evaluates."""


@hookspec
def mgx_after_test(run, metrics):
    """After ``mgx run test`` evaluates; ``metrics`` maps ``PREFIX/key`` to floats."""


@hookspec
def mgx_before_save_checkpoint(run, checkpoint):
    """On rank 0, before a checkpoint is written. ``checkpoint`` is the dict
    about to be saved; a hook may add entries under ``checkpoint["extra"]``
    (tensors, numbers, strings, lists and dicts of them only)."""


@hookspec
def mgx_after_load_checkpoint(run, checkpoint):
    """On every rank, after a checkpoint was loaded for ``--resume`` or
    ``mgx run test``; ``checkpoint`` is the loaded dict."""
