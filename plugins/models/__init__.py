"""Built-in models, one folder per model family (MMagic's family names: ``dcgan``, ``stylegan2``,
``edsr``, ``swinir``, ...); the parts several families share live in ``base_models`` (BaseEditModel, the
ExponentialMovingAverageHook run hook),
``losses`` (every loss) and ``ops`` (layers, and the networks several families build, such as
``PatchDiscriminator``). Each sub-package's ``components()`` lists what it registers.

See docs/models.md for the model contract (train_step / val_step / sample) and
docs/architecture.md for where a new family goes. Generators, discriminators,
losses and the DataPreprocessor are registered as models too (MMagic keeps them
all in its MODELS registry), so a config names them by ``type`` and the model
that owns them builds them.
"""
from mgx.core.hookspecs import hookimpl


@hookimpl
def mgx_register_models(register):
    # Imported here so that loading the plugin does not import torch.
    import importlib
    import pkgutil

    from .data_preprocessor import DataPreprocessor

    # every sub-package (a family, or a shared package) says what it registers: components(), and
    # ALIASES for the components MMagic knows under a second name; a new family folder is found
    # without editing this file
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if info.ispkg:
            package = importlib.import_module(f"{__name__}.{info.name}")
            aliases = getattr(package, "ALIASES", {})
            for component in getattr(package, "components", list)():
                register(component, aliases=aliases.get(component, ()))
    register(DataPreprocessor)


@hookimpl
def mgx_register_run_hooks(register):
    from .base_models.ema_hook import ExponentialMovingAverageHook
    from .pggan.fetch_data_hook import PGGANFetchDataHook
    from .singan.pickle_hook import PickleDataHook

    register(ExponentialMovingAverageHook)
    register(PGGANFetchDataHook)
    register(PickleDataHook)


@hookimpl
def mgx_before_train_epoch(run, epoch):
    # a model that changes with the epoch (DeblurGanV2 releases its frozen backbone) says so by
    # defining before_train_epoch(epoch); called on every rank, also on resume
    model = getattr(run.model, "module", run.model)
    hook = getattr(model, "before_train_epoch", None)
    if callable(hook):
        hook(epoch)
