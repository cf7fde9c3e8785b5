"""Build the calibration corpus: >= 100 real ONNX models, cached outside git.

Usage (from the repository root, with the project's venv: it needs rich)::

    python benchmarks/corpus/make.py [--only GLOB ...] [--out DIR] [--list] [--jobs N]
                                     [--force] [--timeout S]

What it does:

1. Reads the model list from ``specs.py`` (beside this file); ``--only`` keeps the names
   matching any of the globs (``fnmatch``), plus the fp32 models the INT8 ones quantize.
2. Creates, once, the venvs the selected models need under ``OUT/venvs/<venv>/`` from the
   pinned ``requirements-<venv>.txt`` beside this file (``export``: torch, torchvision,
   transformers, timm, ultralytics, onnx, onnxscript, onnxruntime; ``modelopt``: NVIDIA
   ModelOpt, which pins its own onnx/onnxruntime). A venv is reinstalled when its
   requirements file changes (its sha256 is kept in ``OUT/venvs/<venv>/requirements.sha256``).
3. Runs each model's exporter script (``export_torch.py``, ``export_ortq.py``,
   ``export_modelopt.py``) under ``nice -n 19`` in a subprocess of its venv, with the
   spec's timeout (``--timeout`` overrides), ``--jobs`` at a time. A failure or a timeout is
   reported (last stderr line; whole log in ``OUT/logs/<name>.log``) and the rest go on. A
   model is written to ``OUT/tmp/`` first and moved into ``OUT/models/<name>.onnx`` only
   once its exporter succeeded, so nothing half-written is left in ``models/``.
4. Skips models whose ``OUT/models/<name>.onnx`` and ``<name>.json`` exist, unless
   ``--force``.
5. Writes ``OUT/manifest.json`` (every made model of the list: name, family, source
   library and version, torch version, exporter legacy/dynamo, opset, precision and how,
   base model, sha256, size in bytes, node count, input shapes; and ``failed``: this run's
   failures with their reason) and prints a table of made / skipped / failed.

``OUT`` is ``--out``, else ``$FUSIONLAB_CORPUS``, else ``~/.cache/fusionlab/corpus``.
Exit status: 0 when every selected model was made or skipped, 1 when one failed, 2 on bad
usage (argparse; also ``--only`` matching no model).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from specs import SPECS  # noqa: E402

SCRIPTS = {
    "torchvision": "export_torch.py",
    "transformers": "export_torch.py",
    "timm": "export_torch.py",
    "ultralytics": "export_torch.py",
    "ort-quant": "export_ortq.py",
    "modelopt": "export_modelopt.py",
}


def default_out() -> Path:
    """``$FUSIONLAB_CORPUS`` or ``~/.cache/fusionlab/corpus``."""
    env = os.environ.get("FUSIONLAB_CORPUS")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fusionlab" / "corpus"


def select(globs: list[str] | None) -> list[dict]:
    """The specs matching any glob (all when none), plus the bases of the INT8 ones.

    Returned in list order, so a base always comes before the models quantizing it.
    """
    if not globs:
        return list(SPECS)
    names = {s["name"] for s in SPECS if any(fnmatch.fnmatchcase(s["name"], g) for g in globs)}
    by_name = {s["name"]: s for s in SPECS}
    for name in list(names):
        base = by_name[name]["base"]
        while base:
            names.add(base)
            base = by_name[base]["base"]
    return [s for s in SPECS if s["name"] in names]


def ensure_venv(out: Path, name: str) -> Path:
    """Create (or update) ``OUT/venvs/<name>`` from ``requirements-<name>.txt``; its python.

    Raises ``RuntimeError`` with pip's last line when the install fails.
    """
    req = HERE / f"requirements-{name}.txt"
    digest = hashlib.sha256(req.read_bytes()).hexdigest()
    root = out / "venvs" / name
    stamp = root / "requirements.sha256"
    python = root / "bin" / "python"
    if stamp.exists() and stamp.read_text().strip() == digest and python.exists():
        return python
    print(f"make.py: installing venv {root} from {req.name} (once; several minutes)",
          flush=True)
    if not python.exists():
        venv.create(root, with_pip=True)
    log = out / "logs" / f"venv-{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        rc = subprocess.call(["nice", "-n", "19", str(python), "-m", "pip", "install",
                              "-r", str(req)], stdout=fh, stderr=subprocess.STDOUT)
    if rc != 0:
        lines = log.read_text().strip().splitlines() or ["(no output)"]
        raise RuntimeError(f"pip install -r {req.name} failed: {lines[-1]} (see {log})")
    stamp.write_text(digest + "\n")
    return python


def error_line(stderr: str) -> str:
    """The exception line of a traceback on ``stderr`` (else its last line), cut to 300."""
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()] or ["(no stderr)"]
    errors = [ln for ln in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", ln)]
    return (errors[-1] if errors else lines[-1])[:300]


def sha256(path: Path) -> str:
    """sha256 of a file, hex."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_one(spec: dict, python: Path, out: Path, timeout: float | None) -> dict:
    """Export one model; returns {name, status: made|failed, seconds, reason?}."""
    name = spec["name"]
    tmp = out / "tmp" / f"{name}.onnx"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    for stale in tmp.parent.glob(f"{name}.onnx*"):
        stale.unlink()
    job = dict(spec)
    if spec["base"]:
        job["base_path"] = str(out / "models" / f"{spec['base']}.onnx")
    cmd = ["nice", "-n", "19", str(python), str(HERE / SCRIPTS[spec["source"]]),
           json.dumps(job), str(tmp)]
    log = out / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1",
           "YOLO_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=out / "tmp", env=env, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout or spec["timeout"])
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        log.write_text(stdout + "\n" + stderr)
        return {"name": name, "status": "failed", "seconds": time.monotonic() - start,
                "reason": f"timeout after {timeout or spec['timeout']} s"}
    seconds = time.monotonic() - start
    log.write_text(stdout + "\n" + stderr)
    if proc.returncode != 0 or not tmp.exists():
        return {"name": name, "status": "failed", "seconds": seconds,
                "reason": f"exit {proc.returncode}: {error_line(stderr)}"}
    result = json.loads(stdout.strip().splitlines()[-1])
    final = out / "models" / f"{name}.onnx"
    final.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "name": name, "family": spec["family"], "file": f"models/{name}.onnx",
        "source": spec["source"], "library": result.get("library", spec["source"]),
        "library_version": result.get("version"), "torch": result.get("torch"),
        "exporter": spec["exporter"], "opset": result.get("opset"),
        "opset_requested": spec["opset"], "precision": spec["precision"],
        "how": spec["how"], "base": spec["base"], "sha256": sha256(tmp),
        "size": tmp.stat().st_size, "nodes": result.get("nodes"),
        "inputs": result.get("inputs"), "seconds": round(seconds, 1),
        **({"preprocess": result["preprocess"]} if result.get("preprocess") else {}),
    }
    shutil.move(str(tmp), str(final))
    (out / "models" / f"{name}.json").write_text(json.dumps(entry, indent=1) + "\n")
    return {"name": name, "status": "made", "seconds": seconds}


def write_manifest(out: Path, failed: list[dict]) -> dict:
    """Write ``OUT/manifest.json`` from the per-model ``.json`` files of the list."""
    models = []
    for spec in SPECS:
        side = out / "models" / f"{spec['name']}.json"
        if side.exists() and (out / "models" / f"{spec['name']}.onnx").exists():
            models.append(json.loads(side.read_text()))
    manifest = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/corpus/make.py",
        "count": len(models), "models": models,
        "failed": [{"name": f["name"], "reason": f["reason"]} for f in failed],
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.replace(out / "manifest.json")
    return manifest


def print_table(specs: list[dict], results: dict[str, dict], out: Path) -> None:
    """A rich table: one row per selected model, then the made/skipped/failed counts."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"corpus in {out}")
    for col in ("model", "family", "source", "exporter", "opset", "precision", "status",
                "s", "MB", "reason"):
        table.add_column(col, overflow="fold")
    counts = {"made": 0, "skipped": 0, "failed": 0}
    for spec in specs:
        r = results[spec["name"]]
        counts[r["status"]] += 1
        onnx_file = out / "models" / f"{spec['name']}.onnx"
        size = f"{onnx_file.stat().st_size / 1e6:.1f}" if onnx_file.exists() else ""
        style = {"made": "green", "skipped": "dim", "failed": "red"}[r["status"]]
        table.add_row(spec["name"], spec["family"], spec["source"], spec["exporter"] or "",
                      str(spec["opset"] or ""), spec["precision"],
                      f"[{style}]{r['status']}[/{style}]",
                      f"{r.get('seconds', 0):.0f}" if r["status"] != "skipped" else "",
                      size, r.get("reason", ""))
    console = Console(width=200)
    console.print(table)
    console.print(f"made {counts['made']}, skipped {counts['skipped']}, "
                  f"failed {counts['failed']}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry; see the module docstring."""
    ap = argparse.ArgumentParser(prog="make.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", metavar="GLOB",
                    help="build only the models whose name matches GLOB (repeatable)")
    ap.add_argument("--out", type=Path, default=None,
                    help="corpus folder (default $FUSIONLAB_CORPUS or ~/.cache/fusionlab/corpus)")
    ap.add_argument("--list", action="store_true", help="list the selected models and exit")
    ap.add_argument("--jobs", type=int, default=1, help="exports run at a time (default 1)")
    ap.add_argument("--force", action="store_true", help="rebuild models that exist")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per model (default: the spec's, 900; ModelOpt 1800)")
    ns = ap.parse_args(argv)
    if ns.jobs < 1:
        ap.error("--jobs must be >= 1")
    specs = select(ns.only)
    if not specs:
        ap.error(f"--only {' '.join(ns.only)} matches no model (see --list)")
    if ns.list:
        for s in specs:
            print(f"{s['name']:42} {s['family']:20} {s['source']:13} "
                  f"{s['exporter'] or '-':7} {s['opset'] or '-':>4} {s['precision']}")
        print(f"{len(specs)} models")
        return 0
    out = (ns.out or default_out()).expanduser().resolve()
    (out / "models").mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    todo = []
    for s in specs:
        done = (out / "models" / f"{s['name']}.onnx").exists() and \
            (out / "models" / f"{s['name']}.json").exists()
        if done and not ns.force:
            results[s["name"]] = {"name": s["name"], "status": "skipped"}
        else:
            todo.append(s)
    pythons: dict[str, Path] = {}
    for name in sorted({s["venv"] for s in todo}):
        try:
            pythons[name] = ensure_venv(out, name)
        except (RuntimeError, OSError) as exc:
            for s in todo:
                if s["venv"] == name:
                    results[s["name"]] = {"name": s["name"], "status": "failed",
                                          "seconds": 0, "reason": f"venv {name}: {exc}"}
    todo = [s for s in todo if s["name"] not in results]
    # waves: a model runs once its base is made (or was there already)
    pending = list(todo)
    with concurrent.futures.ThreadPoolExecutor(max_workers=ns.jobs) as pool:
        while pending:
            ready, blocked = [], []
            for s in pending:
                base = s["base"]
                if base and base in {p["name"] for p in pending}:
                    blocked.append(s)
                elif base and not (out / "models" / f"{base}.onnx").exists():
                    results[s["name"]] = {"name": s["name"], "status": "failed", "seconds": 0,
                                          "reason": f"base model {base} was not made"}
                else:
                    ready.append(s)
            futures = {pool.submit(run_one, s, pythons[s["venv"]], out, ns.timeout): s
                       for s in ready}
            for fut in concurrent.futures.as_completed(futures):
                r = fut.result()
                results[r["name"]] = r
                print(f"  {r['status']:6} {r['name']} ({r['seconds']:.0f} s)"
                      + (f": {r['reason']}" if r.get("reason") else ""), flush=True)
            pending = blocked
    failed = [results[s["name"]] for s in specs if results[s["name"]]["status"] == "failed"]
    manifest = write_manifest(out, failed)
    print_table(specs, results, out)
    print(f"manifest: {out / 'manifest.json'} ({manifest['count']} models)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
