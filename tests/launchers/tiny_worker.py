"""A tiny distributed worker for launcher tests (no mgx engine): joins the process
group from the environment, all-reduces its rank, and optionally fails or waits
for preemption. Usage: tiny_worker.py OUT_DIR [--fail-rank R] [--preemptible] [--resume]"""
import argparse
import os
import sys
import time

from mgx.core.distributed import preemption
preemption.install_handlers()  # first: a time-limit USR1 may come early in the tests

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("out_dir")
parser.add_argument("--fail-rank", type=int, default=-1)
parser.add_argument("--preemptible", action="store_true")
parser.add_argument("--resume", action="store_true")
args = parser.parse_args()

dist.init_process_group("gloo", init_method="env://")
rank, world = dist.get_rank(), dist.get_world_size()
print(f"rank {rank}/{world} local {os.environ.get('LOCAL_RANK')} master "
      f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']} resume={args.resume}", flush=True)
if rank == args.fail_rank:
    raise RuntimeError(f"tiny worker rank {rank} fails on purpose")
total = torch.tensor([float(rank + 1)])
dist.all_reduce(total)
print(f"rank {rank} sum {total.item():g}", flush=True)

if args.preemptible and not args.resume:
    # Stand-in for the training loop: poll the flag each "iteration".
    deadline = time.time() + 60
    while not preemption.requested() and time.time() < deadline:
        time.sleep(0.05)
    flag = torch.tensor([1.0 if preemption.requested() else 0.0])
    dist.all_reduce(flag)  # every rank saw the signal
    with open(os.path.join(args.out_dir, f"preempted-{rank}.txt"), "w") as fh:
        fh.write(f"{preemption.reason()} {flag.item():g}\n")
    dist.barrier()  # "checkpoint saved" everywhere before rank 0 requeues
    requeued = preemption.requeue_if_slurm()
    print(f"rank {rank} preempted by {preemption.reason()} requeued={requeued}", flush=True)
    dist.destroy_process_group()
    time.sleep(30)  # Slurm stops us (requeue kills the job's tasks)
    sys.exit(5)
if args.resume:
    with open(os.path.join(args.out_dir, f"resumed-{rank}.txt"), "w") as fh:
        fh.write(f"{os.environ.get('SLURM_RESTART_COUNT')}\n")
dist.destroy_process_group()
