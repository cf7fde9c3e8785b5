"""``fusionlab verify --corpus``: calibrate the rules over a folder of models."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from fusionlab.errors import FusionlabError, InputError
from fusionlab.files import MODEL_LIMIT, check_readable
from fusionlab.graph import load_graph
from fusionlab.verification.result import Verification
from fusionlab.verification.run import verify


@dataclass
class RuleTally:
    """Calibration counts of one rule over a corpus of builds."""

    code: str
    predicted: int = 0
    confirmed: int = 0
    not_observed: int = 0
    unverifiable: int = 0


def _verify_one(args: tuple) -> tuple[str, dict | None, tuple | None]:
    """Verify one corpus model: ``(path, tally input, None)`` or ``(path, None, (message,
    exit code, flagged))``, ``flagged`` the rejections analyze predicted when the build
    failed (``None`` for other failures)."""
    path, kwargs = args
    log = kwargs.get("log")
    if log is not None and not Path(log).is_file():
        return str(path), None, (f"not built: no build log {Path(log).name} in {Path(log).parent}", 3,
                                 _flagged(path, kwargs))
    try:
        v = verify(path, **kwargs)
    except FusionlabError as exc:
        return str(path), None, (exc.message, exc.exit_code, getattr(exc, "flagged", None))
    return str(path), _tally_input(v), None


def _tally_input(v: Verification) -> dict:
    layer_rules = {layer.name: layer.rules for layer in v.report.layers}
    return {
        "fusions": [(status, list(layer_rules.get(name, ())), name) for status, _, name in v.comparison.fusions],
        "unpredicted": [list(nodes) for status, nodes, _ in v.comparison.observed_fusions if status == "not-predicted"],
        "edge_errors": [list(e) for e in v.comparison.edge_errors],
        "score": v.comparison.score.to_json(),
    }


def _flagged(path: Path, kwargs: dict) -> list[str] | None:
    """:func:`~fusionlab.verification.run.rejection_codes` of ``path`` analyzed with the
    verify arguments ``kwargs`` (a model scored against a log that is missing: no analysis
    ran); ``None`` when it cannot be analyzed."""
    from fusionlab.analysis import analyze
    from fusionlab.verification.run import rejection_codes

    try:
        report = analyze(path, **{k: kwargs[k] for k in ("target", "precision", "sm", "shapes") if k in kwargs})
    except FusionlabError:
        return None
    return rejection_codes(report)


def _model_kwargs(path: Path, name: Path, kwargs: dict, logs: Path | None, save_logs: Path | None) -> dict:
    """One model's verify arguments: its saved log ``logs/NAME.log`` (offline scoring), the
    log to write, ``save_logs/NAME.log``, and the precision its ``NAME.json`` beside it (the
    corpus builder's record, benchmarks/corpus/make.py) gives, else ``kwargs``'. ``name``:
    the model's path in the corpus without ``.onnx`` (models in subfolders keep theirs)."""
    import json

    own = dict(kwargs)
    meta = path.with_suffix(".json")
    if meta.is_file():
        try:
            precision = json.loads(meta.read_text(encoding="utf-8")).get("precision")
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            precision = None
        if precision in ("fp32", "fp16", "bf16", "int8"):
            own["precision"] = precision
            own.pop("precision_flags", None)
    if logs is not None:
        own["log"] = logs / name.with_suffix(".log")
    if save_logs is not None:
        own["save_log"] = save_logs / name.with_suffix(".log")
        own["save_log"].parent.mkdir(parents=True, exist_ok=True)
    return own


def error_classes(edges: list[tuple[str, str, str, str, str, str]], examples: int = 3) -> list[dict]:
    """The disagreeing edges of a corpus, aggregated by error class.

    ``edges``: ``(model, producer op, consumer op, error, producer, consumer)`` per edge of
    each model's :attr:`~fusionlab.compare.Comparison.edge_errors`. A class is ``(producer
    op, consumer op, error)`` with ``error`` "built fused, predicted apart" or "predicted
    fused, built apart".

    Returns ``[{"producer_op", "consumer_op", "error", "count", "models": {model: count},
    "examples": ["model: producer -> consumer", ...]}]``, most edges first (ties by name).
    """
    classes: dict[tuple[str, str, str], dict] = {}
    for model, producer_op, consumer_op, error, producer, consumer in edges:
        c = classes.setdefault((producer_op, consumer_op, error),
                               {"producer_op": producer_op, "consumer_op": consumer_op, "error": error,
                                "count": 0, "models": {}, "examples": []})
        c["count"] += 1
        c["models"][model] = c["models"].get(model, 0) + 1
        if len(c["examples"]) < examples:
            c["examples"].append(f"{model}: {producer} -> {consumer}")
    return sorted(classes.values(), key=lambda c: (-c["count"], c["producer_op"], c["consumer_op"], c["error"]))


def corpus_summary(result: dict) -> dict:
    """Figures of a corpus result: models, scored, mean / min F1, how many at >= 0.97 and
    below 0.90, failed, and failed models analyze flagged before the build."""
    scores = [s["f1"] for s in result["models"].values() if "error" not in s and s.get("scored", True)
              and s.get("f1") is not None]
    failed = [s for s in result["models"].values() if "error" in s]
    return {"models": len(result["models"]), "scored": len(scores),
            "mean_f1": round(sum(scores) / len(scores), 4) if scores else None,
            "min_f1": round(min(scores), 4) if scores else None,
            "at_least_0.97": sum(f >= 0.97 for f in scores), "below_0.90": sum(f < 0.90 for f in scores),
            "failed": len(failed), "failed_flagged": sum(bool(s.get("flagged")) for s in failed)}


def corpus_models(corpus: str | os.PathLike) -> list[Path]:
    """Every ``*.onnx`` under the folder ``corpus`` (recursively, sorted), refused ones
    included (see :func:`refusal`).

    Raises:
        InputError: ``corpus`` is not a folder or holds no ``.onnx`` file.
    """
    root = Path(corpus)
    if not root.is_dir():
        raise InputError(f"{root}: --corpus needs a folder of .onnx models")
    paths = sorted(p for p in root.rglob("*.onnx") if not p.is_dir())
    if not paths:
        raise InputError(f"{root}: no .onnx file in this folder")
    return paths


def refusal(path: Path, corpus: str | os.PathLike) -> InputError | None:
    """Why the corpus model ``path`` is not read (the read policy), or None.

    Refused without being opened: a FIFO (would block the worker forever), a device, a
    socket, a file over :data:`~fusionlab.files.MODEL_LIMIT`, and a path that resolves
    (through symlinks) outside the folder ``corpus``.
    """
    try:
        check_readable(path, MODEL_LIMIT, what="ONNX model")
    except InputError as exc:
        return exc
    root = os.path.realpath(corpus)
    real = os.path.realpath(path)
    if os.path.commonpath([root, real]) != root:
        return InputError(f"{path}: is a symlink to {real}, outside the --corpus folder {corpus}; "
                          "refusing to read it")
    return None


def check_corpus_outputs(corpus: str | os.PathLike, outputs: dict) -> None:
    """The output policy of ``verify --corpus``: :func:`fusionlab.files.check_outputs`
    against every file of the corpus (:func:`corpus_files`), and no output inside the
    corpus folder whose name ends in ``.onnx`` (the next run would read it as a model).

    Args:
        corpus: the ``--corpus`` folder.
        outputs: option name -> path or None, as for ``check_outputs``.

    Raises:
        InputError: (exit code 2) an output breaks either rule.
    """
    from fusionlab.files import check_outputs

    check_outputs(outputs, corpus_files(corpus))
    root = os.path.realpath(corpus)
    for opt, p in outputs.items():
        if p is None:
            continue
        real = os.path.realpath(p)
        if os.fspath(p).endswith(".onnx") and os.path.commonpath([root, real]) == root:
            raise InputError(f"{opt} {os.fspath(p)}: is inside the --corpus folder {corpus} and ends in "
                             ".onnx, so it would be read as a model; write the report elsewhere")


def corpus_files(corpus: str | os.PathLike) -> list[Path]:
    """The files the corpus is made of: every model :func:`refusal` accepts and its
    external-data files (:func:`fusionlab.graph.model_files`), then the refused paths
    themselves. An output of ``verify --corpus`` may be none of them
    (:func:`fusionlab.files.check_outputs`).

    Raises:
        InputError: as :func:`corpus_models`.
    """
    from fusionlab.graph import model_files

    files: list[Path] = []
    for p in corpus_models(corpus):
        files.extend([p] if refusal(p, corpus) else model_files(p))
    return files


def calibrate(corpus: str | os.PathLike, *, jobs: int = 1, progress: Callable[[str, int, int], None] | None = None,
              logs: str | os.PathLike | None = None, save_logs: str | os.PathLike | None = None,
              **kwargs) -> dict:
    """Verify every ``*.onnx`` under ``corpus`` (a process pool of ``jobs`` workers).

    ``logs``: a folder of saved build logs, ``NAME.log`` per model ``NAME.onnx``: each
    model is scored against its log offline (no build; a model without a log is "not
    built", exit code 3). ``save_logs``: the folder each live build's log is written to
    (``NAME.log``). A model with a ``NAME.json`` beside it (benchmarks/corpus/make.py's
    record) is verified at the ``precision`` it names.

    ``progress(description, done, total)`` (:mod:`fusionlab.progress`), when given, is
    called in this process before the first model and after each one, with the model's
    file name and how many of the ``total`` models are done.

    Returns ``{"models": {path: score or {"error", "exit_code", "flagged"}}, "rules":
    [RuleTally...], "unpredicted": {op-type signature: count}, "classes": [...],
    "summary": {...}}``: per rule, how often it was predicted, confirmed, not observed;
    the builder's fusions no rule predicted, grouped by the ONNX op types they join (e.g.
    ``Conv+Relu``); the disagreeing edges by error class (:func:`error_classes`); the
    figures of :func:`corpus_summary`. ``flagged``: for a model that failed, the codes of
    the error findings analyze reported before the build.

    A model the read policy refuses (:func:`refusal`: a FIFO, a device, a symlink out of
    the folder, too large) is not opened: it is that model's failure (exit code 2) and the
    rest of the corpus still runs.

    Raises:
        InputError: ``corpus`` is not a folder or holds no ``.onnx`` file.
    """
    paths = corpus_models(corpus)
    refused = {p: refusal(p, corpus) for p in paths}
    logs = Path(logs) if logs is not None else None
    save_logs = Path(save_logs) if save_logs is not None else None
    if logs is not None and not logs.is_dir():
        raise InputError(f"--logs {logs}: not a folder of build logs")
    if save_logs is not None:
        save_logs.mkdir(parents=True, exist_ok=True)
    name = {p: p.relative_to(corpus).with_suffix("") for p in paths}
    work = [(p, _model_kwargs(p, name[p], kwargs, logs, save_logs)) for p in paths if refused[p] is None]
    built = []

    def step(result) -> None:
        built.append(result)
        if progress is not None:
            following = "" if len(built) == len(work) else f", next {work[len(built)][0].name}"
            progress(f"{Path(result[0]).name} done{following}", len(built), len(work))

    if progress is not None and work:
        progress(work[0][0].name, 0, len(work))
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for result in pool.map(_verify_one, work):
                step(result)
    else:
        for w in work:
            step(_verify_one(w))
    done = iter(built)
    results = [(str(p), None, (refused[p].message, refused[p].exit_code, None)) if refused[p] else next(done)
               for p in paths]
    tallies: dict[str, RuleTally] = {}
    unpredicted: dict[str, int] = {}
    models: dict[str, dict] = {}
    edges: list[tuple[str, str, str, str, str, str]] = []
    for (path, data, error), p in zip(results, paths):
        if error is not None:
            models[path] = {"error": error[0], "exit_code": error[1]}
            if error[2] is not None:
                models[path]["flagged"] = error[2]
            continue
        models[path] = data["score"]
        for status, codes, _ in data["fusions"]:
            for code in codes:
                t = tallies.setdefault(code, RuleTally(code))
                t.predicted += 1
                if status == "confirmed":
                    t.confirmed += 1
                elif status == "not-observed":
                    t.not_observed += 1
                else:
                    t.unverifiable += 1
        graph = load_graph(p, infer=False)
        for nodes in data["unpredicted"]:
            sig = "+".join(graph.nodes[n].op_type for n in nodes if n in graph.nodes)
            unpredicted[sig] = unpredicted.get(sig, 0) + 1
        ops = {n: node.op_type for n, node in graph.nodes.items()}
        edges.extend((str(name[p]), ops.get(a, "?"), ops.get(b, "?"), e, a, b) for a, b, e in data["edge_errors"])
    result = {"models": models, "rules": [tallies[c] for c in sorted(tallies)],
              "unpredicted": dict(sorted(unpredicted.items(), key=lambda kv: -kv[1])),
              "classes": error_classes(edges)}
    result["summary"] = corpus_summary(result)
    return result


def corpus_exit_code(result: dict, min_f1: float | None = None) -> int:
    """The exit code of ``verify --corpus``: 0 when every model was verified (and scored
    at least ``min_f1``); else 3 when a build failed (or the highest exit code of the
    models that failed: 2 bad model, 5 builder missing), else 1 when a model's F1 is
    below ``min_f1`` or it was not scored."""
    codes = [s["exit_code"] for s in result["models"].values() if "error" in s]
    if codes:
        return 3 if 3 in codes else max(codes)
    if min_f1 is not None and any(s.get("f1") is None or s["f1"] < min_f1 for s in result["models"].values()):
        return 1
    return 0


def corpus_json(result: dict) -> dict:
    """:func:`calibrate`'s result as JSON-ready dicts (``--format json``)."""
    return {"models": result["models"], "rules": [asdict(t) for t in result["rules"]],
            "unpredicted": result["unpredicted"], "classes": result["classes"], "summary": result["summary"]}
