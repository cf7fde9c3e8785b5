"""No orphaned build worker: when fusionlab dies during a live verify -- SIGKILL (the
worker's ``PR_SET_PDEATHSIG``), SIGTERM or SIGHUP (the parent's handlers kill the worker's
process group) -- the TensorRT-RTX build worker dies with it.

The worker is found by scanning ``/proc/*/cmdline`` for ``_build_worker.py`` with the
fusionlab process as its parent (psutil is not a dependency).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.needs_rtx

#: How long the worker may take to appear (fusionlab loads and analyzes resnet18 first;
#: two shared cores) and how long it may outlive its parent (the brief: 10 s).
APPEAR_S = 180
GONE_S = 10


def _proc_state(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of a live process, ``None`` when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[1]), fields[0]


def _workers_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"_build_worker.py") for arg in cmdline):
            state = _proc_state(int(entry.name))
            if state is not None and state[0] == parent:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    state = _proc_state(pid)
    return state is not None and state[1] not in ("Z", "X")  # a zombie has stopped running


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_worker_dies_with_fusionlab(models_dir, sig):
    # The worker's testing hook: it parses the model, then sleeps forever (a build of
    # resnet18 can end before a signal is sent; a hung one cannot, and it writes nothing,
    # so no broken pipe kills it either: only the mechanism under test can).
    env = {**os.environ, "_FUSIONLAB_BUILD_WORKER_FAULT": "hang"}
    proc = subprocess.Popen([sys.executable, "-m", "fusionlab.cli", "verify", str(models_dir / "resnet18.onnx"),
                             "--timeout", "900"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + APPEAR_S
        while not workers and time.monotonic() < deadline and proc.poll() is None:
            workers = _workers_of(proc.pid)
            time.sleep(0.1)
        assert workers, f"no build worker appeared (fusionlab exited {proc.poll()})"
        time.sleep(1.0)  # past its first lines: the prctl path, not the already-orphaned one
        assert proc.poll() is None and all(_alive(w) for w in workers)
        os.kill(proc.pid, sig)
        code = proc.wait(timeout=60)
        deadline = time.monotonic() + GONE_S
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), f"build worker {workers} outlived fusionlab ({sig.name})"
        if sig is signal.SIGKILL:
            assert code == -signal.SIGKILL
        else:
            assert code == 128 + sig, proc.stderr.read().decode()[-2000:]
            assert f"terminated by {sig.name}" in proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
