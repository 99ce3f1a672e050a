"""``--launcher local``: run the job in this very process (also what every worker of
``dist`` and ``slurm`` runs; the engine joins a process group when WORLD_SIZE > 1)."""
from __future__ import annotations

from mgx.core.errors import MgxError
from mgx.core.distributed.launch import LaunchRequest


class LocalLauncher:
    name = "local"
    accepted_options: frozenset[str] = frozenset()

    def launch(self, request: LaunchRequest) -> int:
        if request.run_here is None:
            raise MgxError("the local launcher needs LaunchRequest.run_here (a bug in the caller)")
        return int(request.run_here() or 0)
