"""Preemption signals only set a flag; a second SIGTERM still kills."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from mgx.core.distributed import preemption
@pytest.fixture
def handlers():
    preemption.clear()
    assert preemption.install_handlers()
    yield
    preemption.uninstall_handlers()
    preemption.clear()


@pytest.mark.parametrize("signum", [signal.SIGUSR1, signal.SIGTERM])
def test_signal_sets_flag(handlers, signum):
    assert not preemption.requested()
    os.kill(os.getpid(), signum)
    assert preemption.requested()
    assert preemption.reason() == signal.Signals(signum).name


def test_uninstall_restores_previous_handler(handlers):
    preemption.uninstall_handlers()
    assert signal.getsignal(signal.SIGUSR1) is not preemption._handle
    assert preemption.install_handlers()  # idempotent re-install for the fixture's teardown


def test_requeue_outside_slurm_is_a_noop(monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert preemption.requeue_if_slurm() is False


def test_requeue_only_on_rank_zero(monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "999999")
    monkeypatch.setenv("RANK", "1")
    assert preemption.requeue_if_slurm() is False


@pytest.mark.timeout(60)
def test_second_sigterm_kills_a_stuck_process():
    code = textwrap.dedent("""
        import os, signal, sys, time
        from mgx.core.distributed import preemption
        preemption.install_handlers()
        print("ready", flush=True)
        while not preemption.requested():
            time.sleep(0.01)
        print("flag", preemption.reason(), flush=True)
        time.sleep(30)  # "stuck": only a second SIGTERM ends this
        print("not killed", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout.readline().strip() == "flag SIGTERM"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == -signal.SIGTERM


@pytest.mark.timeout(60)
def test_requeue_survives_the_sigterm_slurm_sends_before_scontrol_returns(tmp_path):
    # Slurm stops a requeued job's tasks with SIGTERM, which can arrive while `scontrol
    # requeue` is still running; with a stop already pending that SIGTERM used to kill
    # rank 0 before it could report the requeue. This scontrol behaves like Slurm does.
    scontrol = tmp_path / "scontrol"
    scontrol.write_text(f"#!{sys.executable}\nimport os, signal, sys\n"
                        "assert sys.argv[1:] == ['requeue', '4242'], sys.argv\n"
                        "os.kill(os.getppid(), signal.SIGTERM)\n")
    scontrol.chmod(0o755)
    code = textwrap.dedent("""
        import os, signal
        from mgx.core.distributed import preemption
        preemption.install_handlers()
        os.kill(os.getpid(), signal.SIGUSR1)  # the stop that led to the checkpoint
        assert preemption.requested()
        print("requeue accepted:", preemption.requeue_if_slurm(), flush=True)
        assert signal.getsignal(signal.SIGTERM) is preemption._handle
    """)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "SLURM_JOB_ID": "4242", "RANK": "0"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr
    assert "requeue accepted: True" in done.stdout
    assert "requeueing Slurm job 4242" in done.stderr and "requeued Slurm job 4242" in done.stderr
