"""FIDELITY table from /tmp/fid (old = main at e599db4, new = this session's main)."""
import json, glob, os, collections, subprocess, sys
import onnx
rows, classes = [], {"old": collections.Counter(), "new": collections.Counter()}
ex = {}
build = {l.split()[0]: l.split() for l in open("/tmp/fid/build.txt") if l.strip() != "DONE"}
for l in open("/tmp/fid/rebuild.txt"):
    if l.strip() != "DONE":
        n, e = l.split(); build[n] = [n, build[n][1], e]
for n, parts in sorted(build.items()):
    exitc = parts[2].split("=")[1]
    r = {"model": n, "precision": parts[1], "build_exit": exitc}
    for side in ("old", "new"):
        f = f"/tmp/fid/{side}/{n}.score.json"
        if exitc == "0" and os.path.exists(f) and os.path.getsize(f):
            d = json.load(open(f)); r[side] = d["score"]["f1"]
            if side == "new" or side == "old":
                g = onnx.load(f"/tmp/csub/{n}.onnx", load_external_data=False); op = {x.name: x.op_type for x in g.graph.node}
                for e in d["edge_errors"]:
                    k = (op.get(e["producer"]), op.get(e["consumer"]), e["error"]); classes[side][k] += 1
                    ex.setdefault((side, k), f"{n}: {e['producer']} -> {e['consumer']}")
    if exitc != "0":
        for side, cwd, env in (("new", "/work/main", {}), ("old", "/tmp/oldfl", {"PYTHONPATH": "/tmp/oldfl"})):
            out = subprocess.run([sys.executable, "-m", "fusionlab.cli", "analyze", f"/tmp/csub/{n}.onnx", "--target", "tensorrt-rtx", "--format", "json"],
                                 capture_output=True, text=True, cwd=cwd, env={**os.environ, **env})
            try:
                d = json.loads(out.stdout); r[f"flagged_{side}"] = sorted({x["code"] for x in d.get("parser_rejects", [])}) or False
            except Exception:
                r[f"flagged_{side}"] = f"exit {out.returncode}"
    rows.append(r)
json.dump({"rows": rows, "classes": {s: [[list(k), v, ex[(s, k)]] for k, v in c.most_common()] for s, c in classes.items()}}, open("/tmp/fid/table.json", "w"), indent=1)
ok = [r for r in rows if "new" in r and r["new"] is not None and r.get("old") is not None]
print(len(rows), "models;", len(ok), "scored both")
import statistics
print("mean old %.3f new %.3f; min old %.3f new %.3f" % (statistics.mean(r["old"] for r in ok), statistics.mean(r["new"] for r in ok), min(r["old"] for r in ok), min(r["new"] for r in ok)))
