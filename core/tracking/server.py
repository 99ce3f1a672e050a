"""Start a local ``mlflow server`` (for ``mgx ui`` and the team-mode tests).

Light settings measured on 2 cores: ``--workers 1`` and
``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`` -> ready in ~4 s, 2 processes, ~0.5 GB
(the defaults: ~10 s, 15 processes, ~3 GB).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from mgx.core.errors import MgxError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def start_server(
    backend_uri: str,
    artifacts_destination: Path | str | None,
    port: int,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen:
    """Launch ``mlflow server`` in its own process group; output goes to ``log_path`` (or is dropped).

    ``cwd``: the server's working folder (anything it writes by a relative path lands there).
    """
    command = [sys.executable, "-m", "mlflow", "server", "--host", host, "--port", str(port),
               "--backend-store-uri", backend_uri, "--workers", "1"]
    if artifacts_destination is not None:
        command += ["--artifacts-destination", str(artifacts_destination)]
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    env.pop("MLFLOW_TRACKING_URI", None)
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                cwd=cwd)
    finally:
        if log_path:
            out.close()


def health_failure(uri: str, timeout_s: float) -> Exception | None:
    """For an ``http(s)`` store, the error of one ``<uri>/health`` request that did not answer OK within
    ``timeout_s`` (a frozen server accepts the connection and never answers: without this bound the
    first MLflow call holds start-up for its full HTTP timeouts and retries); None when it answered or
    the store is not a server."""
    if not uri.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout_s) as response:
            return None if response.status == 200 else ConnectionError(f"/health answered {response.status}")
    except urllib.error.HTTPError as exc:  # a server that answers, if not /health (a proxy): let MLflow try it
        return None if exc.code < 500 else ConnectionError(f"/health answered {exc.code}")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        return ConnectionError(f"no answer from {uri}/health within {timeout_s:g} s ({exc})")


def wait_healthy(url: str, process: subprocess.Popen | None = None, timeout_s: float = 60.0,
                 log_path: Path | None = None) -> None:
    """Poll ``<url>/health`` until it answers OK; MgxError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = Path(log_path).read_text(errors="replace")[-3000:] if log_path and Path(log_path).exists() else ""
            raise MgxError(f"mlflow server exited with code {process.returncode} before it was ready\n{tail}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    raise MgxError(f"mlflow server at {url} did not answer /health within {timeout_s:.0f} s")


def stop_server(process: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """Terminate the server's process group (SIGTERM, then SIGKILL)."""
    import signal

    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout_s)
    except ProcessLookupError:
        pass
