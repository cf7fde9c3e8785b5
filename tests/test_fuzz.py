"""The mutation fuzzer (tests/fuzz.py) run against analyze and rewrite: bounded, seeded,
reproducible (issue 10, item 8).

Environment:
    FUSIONLAB_FUZZ_SEED: the run's seed (default :data:`DEFAULT_SEED`).
    FUSIONLAB_FUZZ_CASES: how many in-process cases (default :data:`DEFAULT_CASES`, about
        a minute on two idle cores); a tenth as many (at least 4) run as subprocesses.
    FUSIONLAB_FUZZ_ONLY: run only these case indices (comma-separated), e.g. to rerun one
        case a failure printed.

For every case: the exit code is 0, 1, 2 or 3 (70 is an internal error; 4 would say a
rewrite changed the outputs of a model it was free to refuse); stderr holds no traceback,
at most one ``fusionlab: error:`` line and nothing after it, and no other line than
``fusionlab: warning:`` lines (rewrite's ``--dry-run`` / ``--no-check`` warnings, one line
each, none repeated) and rewrite's ``fusionlab: nothing to rewrite:`` line; stdout, stderr and any report file hold no raw
control character (C0 other than tab and newline, DEL, C1, bidi controls, line and
paragraph separators, lone surrogates); and the case's folder is unchanged except for
the outputs the command names (files compared by size, mtime and SHA-256).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz import layer_info, make_case  # tests/ is on sys.path (pytest rootdir conftest)

DEFAULT_SEED = 20261203
DEFAULT_CASES = 240

SEED = int(os.environ.get("FUSIONLAB_FUZZ_SEED", DEFAULT_SEED))
CASES = int(os.environ.get("FUSIONLAB_FUZZ_CASES", DEFAULT_CASES))
ONLY = [int(i) for i in os.environ.get("FUSIONLAB_FUZZ_ONLY", "").split(",") if i.strip()]

ALLOWED_EXIT = {0, 1, 2, 3}
#: Characters no human-readable or JSON output of fusionlab may carry raw.
RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)

#: The model's file name: mostly plain, sometimes hostile (file names reach reports and
#: error lines too).
MODEL_FILES = ("model.onnx",) * 6 + ("m\x1b[31mred.onnx", "m\nfusionlab: error: forged.onnx",
                                    "[bold]m[link=x]y[i].onnx", "\u202eevil.onnx", "m\x85\x9b.onnx",
                                    "m\rcr.onnx")

#: Commands a case runs, as argument lists; MODEL, OUT and REPORT are replaced by paths.
COMMANDS = (
    ["analyze", "MODEL", "--format", "full"],
    ["analyze", "MODEL", "--format", "concise"],
    ["analyze", "MODEL", "--format", "json"],
    ["analyze", "MODEL", "--format", "sarif"],
    ["analyze", "MODEL", "--format", "github"],
    ["analyze", "MODEL", "-o", "OUT.txt"],
    ["analyze", "MODEL", "--target", "tensorrt-rtx", "--precision", "int8", "--format", "concise"],
    ["rewrite", "MODEL", "--dry-run"],
    ["rewrite", "MODEL", "--dry-run", "--format", "json"],
    ["rewrite", "MODEL", "-o", "OUT.onnx", "--report", "REPORT.txt"],
    ["verify", "MODEL", "--layer-info", "LAYERS", "--format", "full"],
    ["verify", "MODEL", "--layer-info", "LAYERS", "--format", "json"],
)


#: Hostile option values a case may add (one case in four), per command; usage errors
#: (click's) are one line too. Sizes past the equivalence input limit are left out.
OPTIONS = {
    "analyze": (["--sm", "nan"], ["--sm", "-1"], ["--sm", "1e308"], ["--sm", "abc"],
                ["--select", "[/]"], ["--select", "\x1b[31m"], ["--ignore", ""],
                ["--extend-select", "TRT1,,,"], ["--fail-on", "info"], ["--fail-on", "bogus"],
                ["--config", "missing.toml"], ["--baseline", "missing.json"], ["--bogus-option"],
                ["--precision", "fp64"], ["--target", "tensorrt-rtx"]),
    "rewrite": (["--shape", "input:0x0"], ["--shape", "\x1b:1"], ["--shape", "input_ids:1x8"],
                ["--atol", "nan"], ["--rtol", "-1"], ["--passes", "\x1b[2J"], ["--passes", ""],
                ["--allow-requantize"], ["--no-check"], ["--sm", "inf"], ["--timeout", "1e300"],
                ["--passes", "conv-scale,pad-conv"], ["--target", "tensorrt-rtx"]),
    "verify": (["--min-f1", "nan"], ["--min-f1", "2"], ["--min-f1", "0.5"], ["--timeout", "inf"],
               ["--timeout", "0"], ["--precision", "int8"], ["--target", "tensorrt-rtx"],
               ["--profile", "missing.json"]),
}


def _cases(count: int, offset: int = 0) -> list[int]:
    return ONLY or list(range(offset, offset + count))


def _command(index: int, folder: Path, model: Path) -> tuple[list[str], set[Path]]:
    """The command of case ``index`` (drawn from the seed) and the outputs it names."""
    rng = random.Random(f"fusionlab-fuzz-cmd:{SEED}:{index}")
    template = rng.choice(COMMANDS)
    if rng.random() < 1 / 4:
        template = template + rng.choice(OPTIONS[template[0]])
    args, outputs = [], set()
    for a in template:
        if a == "MODEL":
            a = str(model)
        elif a == "LAYERS":
            a = str(folder / "layers.json")
        elif a.startswith("missing."):
            a = str(folder / a)
        elif a.startswith(("OUT.", "REPORT.")):
            path = folder / a.lower()
            outputs.add(path)
            a = str(path)
        args.append(a)
    return args, outputs


def _snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.iterdir())}


def _prepare(tmp_path: Path, index: int):
    case = make_case(SEED, index)
    folder = tmp_path / f"case{index}"
    folder.mkdir()
    model = folder / random.Random(f"fusionlab-fuzz-file:{SEED}:{index}").choice(MODEL_FILES)
    model.write_bytes(case.data)
    (folder / "keep.txt").write_text("a file no command names\n")
    args, outputs = _command(index, folder, model)
    if "--layer-info" in args:
        (folder / "layers.json").write_bytes(layer_info(SEED, index, case.base))
    return case, folder, args, outputs


#: ONNX Runtime's own log lines (``2026-12-03 12:42:21.6 [E:onnxruntime:, ...]``, in red):
#: written by its C++ logger straight to file descriptor 2, so only the subprocess cases
#: see them. Keeping them off stderr is another change's job (branch hbad, issue 10);
#: until it lands they are left out of the stderr checks here.
_STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \[[VIWEF]:onnxruntime:"
ORT_LOG = (re.compile(r"^\x1b\[[0-9;]*m" + _STAMP + r".*?\x1b\[m\n?", re.MULTILINE | re.DOTALL),  # colored
           re.compile(r"^" + _STAMP + r".*\n?", re.MULTILINE))


def _problems(code: int, out: str, err: str, folder: Path, before, outputs: set[Path]) -> list[str]:
    """What the case broke of README's promises (empty: nothing)."""
    found = []
    for log in ORT_LOG:
        err = log.sub("", err)
    if code not in ALLOWED_EXIT:
        found.append(f"exit {code}")
    if "Traceback" in err:
        found.append("traceback on stderr")
    lines = err.splitlines()
    errors = [ln for ln in lines if ln.startswith(("fusionlab: error: ", "fusionlab: internal error: "))]
    if len(errors) > 1:
        found.append(f"{len(errors)} error lines on stderr")
    if errors and lines[-1] != errors[0]:
        found.append("stderr goes on after the error line")
    stray = [ln for ln in lines
             if not ln.startswith(("fusionlab: error: ", "fusionlab: internal error: ", "fusionlab: warning: ",
                                   "fusionlab: nothing to rewrite: "))]
    if stray:
        found.append(f"{len(stray)} stderr line(s) that are not a fusionlab error or warning line")
    if len(set(lines)) != len(lines):
        found.append("a line repeated on stderr")
    for name, text in (("stdout", out), ("stderr", err)):
        bad = RAW_CONTROL.search(text)
        if bad:
            found.append(f"raw {bad.group()!r} on {name} at {bad.start()}")
    after = _snapshot(folder)
    named = {p.name for p in outputs}
    for name in sorted(set(before) | set(after)):
        if name in named:
            continue
        if name not in after:
            found.append(f"{name} removed")
        elif name not in before:
            found.append(f"{name} created, not named as an output")
        elif before[name] != after[name]:
            found.append(f"{name} changed")
    for path in outputs:
        if path.exists() and path.suffix == ".txt":
            bad = RAW_CONTROL.search(path.read_text(encoding="utf-8", errors="surrogateescape"))
            if bad:
                found.append(f"raw {bad.group()!r} in {path.name}")
    return found


def _report(failures: list[str]) -> str:
    return (f"{len(failures)} fuzz case(s) failed (seed {SEED}); rerun one with the line's "
            f"variables and `pytest tests/test_fuzz.py`:\n" + "\n".join(failures[:25]))


def test_fuzz_in_process(cli, tmp_path):
    """Most cases run through ``fusionlab.cli.main`` (stdout and stderr captured)."""
    failures = []
    for index in _cases(CASES):
        case, folder, args, outputs = _prepare(tmp_path, index)
        before = _snapshot(folder)
        code, out, err = cli(*args)
        found = _problems(code, out, err, folder, before, outputs)
        if found:
            failures.append(f"{case.describe()} `fusionlab {' '.join(args[:1] + args[2:])}`: "
                            f"{', '.join(found)}; stderr: {err.strip()[:300]!r}")
    assert not failures, _report(failures)


def test_fuzz_subprocess(tmp_path):
    """A few cases run as ``python -m fusionlab.cli`` to see the real stderr (a traceback
    printed by the interpreter, a warning printed at exit)."""
    failures = []
    count = max(4, CASES // 10)
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("FUSIONLAB_DEBUG", None)
    for index in _cases(count, offset=CASES):
        case, folder, args, outputs = _prepare(tmp_path, index)
        before = _snapshot(folder)
        proc = subprocess.run([sys.executable, "-m", "fusionlab.cli", *args], capture_output=True,
                              env=env, cwd=folder, timeout=600)
        out = proc.stdout.decode("utf-8", errors="replace")
        err = proc.stderr.decode("utf-8", errors="replace")
        found = _problems(proc.returncode, out, err, folder, before, outputs)
        for name, raw in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                found.append(f"invalid UTF-8 on {name} at byte {exc.start}")
        if found:
            failures.append(f"{case.describe()} `fusionlab {' '.join(args[:1] + args[2:])}` "
                            f"(subprocess): {', '.join(found)}; stderr: {err.strip()[:300]!r}")
    assert not failures, _report(failures)


def test_cases_are_reproducible():
    """The same seed and index give the same bytes and description; another seed does not."""
    first, again, other = make_case(SEED, 3), make_case(SEED, 3), make_case(SEED + 1, 3)
    assert (first.data, first.mutations) == (again.data, again.mutations)
    assert (first.data, first.mutations) != (other.data, other.mutations)
    assert f"FUSIONLAB_FUZZ_SEED={SEED} FUSIONLAB_FUZZ_ONLY=3" in first.describe()


@pytest.mark.parametrize("index", range(5))
def test_every_case_is_mutated(index):
    """A case differs from its seed model (the fuzzer never tests the unmodified model only)."""
    from fuzz import seed_models

    case = make_case(SEED, index)
    assert case.mutations
    assert case.data != seed_models()[case.base]
