"""A sweep as ONE Slurm job array: task ``i`` trains point ``i`` (``mgx sweep --launcher slurm``;
``SlurmLauncher.submit_array``, the launcher contract's ``JobArrayLauncher``).

Each task is an ordinary mgx training of its point (``srun`` of ``srun_task`` as in
``sbatch_script``), always started with ``--resume``: the first start finds no
checkpoint and starts fresh, a requeued task (preemption, ``scontrol requeue``,
USR1 before the time limit) resumes its own work dir and so its own MLflow child run.
After its training (finished or failed) the task asks ``mgx sweep-finish`` to end the
parent run: FINISHED once every point is, FAILED once no task of the array is left to
run and some point did not finish (a requeued task is queued again, so it counts).
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Mapping, Sequence

from mgx.core.distributed.launch import JobArrayRequest, shell_join
from mgx.core.errors import ConfigError, MgxError

from . import slurm_commands
from .sbatch_script import SlurmPlan, decide_gres, resolve, sbatch_header, signal_grace, step_lines


def array_spec(indices: Sequence[int], max_parallel: int | None) -> str:
    """``0-3%2`` for a contiguous range, else ``0,2,5%2`` (the points still to run)."""
    indices = sorted(indices)
    if indices == list(range(indices[0], indices[-1] + 1)):
        spec = f"{indices[0]}-{indices[-1]}" if len(indices) > 1 else str(indices[0])
    else:
        spec = ",".join(str(i) for i in indices)
    return f"{spec}%{max_parallel}" if max_parallel else spec


def render_array(plan: SlurmPlan, indices: Sequence[int], max_parallel: int | None,
                 point_args: Mapping[int, list[str]], train_prefix: list[str], environment: Mapping[str, str],
                 log_pattern: Path, finish_command: list[str], ended_dir: Path, *, grace_s: int) -> str:
    """The sbatch script of the array; ``point_args[i]`` are point i's arguments after
    ``train_prefix`` (``python -m mgx.cli run train CONFIG``). Every task ends with
    ``finish_command --task ID`` (whatever its exit code), after marking itself ended in
    ``ended_dir``; a task clears its mark when it starts (again, if requeued)."""
    header = sbatch_header(plan, log_pattern, grace_s=grace_s, array=array_spec(indices, max_parallel))
    exports = "\n".join(f"export {name}={shlex.quote(value)}" for name, value in environment.items())
    cases = "\n".join(f"    {index}) POINT=({shell_join(point_args[index])}) ;;" for index in sorted(point_args))
    srun = shell_join(plan.srun_argv([*train_prefix], in_allocation=False))
    finish = shell_join(finish_command)
    ended_mark = shlex.quote(str(ended_dir)) + '/"${SLURM_ARRAY_TASK_ID}"'
    return f"""#!/bin/bash
{header}
# Written by `mgx sweep`: array task i trains sweep point i into its own work dir and
# MLflow child run; always with --resume, so a requeued task continues where it stopped.
export PYTHONUNBUFFERED=1
export MGX_LAUNCHER=slurm
{exports}
export MGX_SWEEP_POINT="${{SLURM_ARRAY_TASK_ID}}"
case "${{SLURM_ARRAY_TASK_ID}}" in
{cases}
    *) echo "mgx: no sweep point ${{SLURM_ARRAY_TASK_ID}} in this script" >&2; exit 2 ;;
esac
rm -f {ended_mark}
echo "mgx: sweep point ${{SLURM_ARRAY_TASK_ID}} (job ${{SLURM_JOB_ID}}, restart ${{SLURM_RESTART_COUNT:-0}}) on ${{SLURM_JOB_NODELIST}}, $(date -u +%FT%TZ)"
{step_lines(f'{srun} "${{POINT[@]}}" --resume')}
echo "mgx: sweep point ${{SLURM_ARRAY_TASK_ID}} step finished with exit code $STATUS, $(date -u +%FT%TZ)"
# the parent run ends FINISHED after the last point, FAILED once nothing is left to run
{finish} --task "${{SLURM_ARRAY_TASK_ID}}" || true
exit $STATUS
"""


def max_array_size() -> int | None:
    """The cluster's MaxArraySize (``scontrol show config``), None when it cannot be read."""
    import subprocess

    try:
        result = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    for line in result.stdout.splitlines():
        name, _, value = line.partition("=")
        if name.strip() == "MaxArraySize" and value.strip().isdigit():
            return int(value.strip())
    return None


def submit_array(request: JobArrayRequest) -> str:
    """Write the array's sbatch script into the sweep folder, submit it, say how to follow it;
    the job id. Slurm's refusal is a ConfigError with its message (and MaxArraySize when the
    indices pass it)."""
    slurm_commands.require("sbatch")
    gpus = request.options.get("gpus") or 1
    plan = resolve({**request.options, "job_name": request.options.get("job_name") or request.name,
                    "gpus": gpus, "gpus_per_node": gpus}, "train", in_allocation=False)
    decide_gres(plan)
    script = request.folder / f"{request.name}.sbatch"
    script.write_text(render_array(
        plan, list(request.task_args), request.max_parallel, request.task_args, request.train_command,
        request.environment, request.folder / "slurm-%A_%a.out", request.finish_command, request.ended_dir,
        grace_s=signal_grace()))
    try:
        job_id = slurm_commands.submit(str(script), plan.partition)
    except BaseException as exc:
        script.unlink(missing_ok=True)  # a sweep that never started leaves nothing behind
        if isinstance(exc, ConfigError) or not isinstance(exc, MgxError):
            raise
        limit = max_array_size()
        hint = (f"\n(this cluster's MaxArraySize is {limit}: task indices up to {limit - 1}; sweep fewer "
                "points, e.g. with --random N)") if limit is not None and max(request.task_args) >= limit else ""
        raise ConfigError(f"Slurm refused the sweep's job array of {len(request.task_args)} task(s):\n"
                          f"{str(exc).split(':', 1)[-1].strip()}{hint}") from None
    print(f"Submitted Slurm job array {job_id} ({len(request.task_args)} point(s), partition "
          f"{plan.partition or '(default)'}): script {script}\n"
          f"logs: {request.folder}/slurm-{job_id}_<point>.out\n"
          f"Follow it with: squeue -j {job_id}   (cancel: scancel {job_id}); the parent run ends "
          f"FINISHED when the last point finishes", flush=True)
    return job_id
