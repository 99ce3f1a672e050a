"""Built-in launchers: ``local`` (this process), ``dist`` (torchrun on this node or
many), ``slurm`` (sbatch/srun). Registered exactly like a third-party plugin's."""
from mgx.core.hookspecs import hookimpl


@hookimpl
def mgx_register_launchers(register):
    # Imported here so that listing plugins does not import torch.
    from .dist import DistLauncher
    from .local import LocalLauncher
    from .slurm import SlurmLauncher

    register(LocalLauncher, name=LocalLauncher.name)
    register(DistLauncher, name=DistLauncher.name)
    register(SlurmLauncher, name=SlurmLauncher.name)
