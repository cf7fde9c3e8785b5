"""``--output-format html``: the self-contained HTML report, opened in a real headless
Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by selenium; .ci/run installs
them). Each page must load with no console error, and its graph and DOM must hold the
report's counts: one layer cluster per predicted layer, one highlighted miss per missed
finding.
"""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import onnx
import pytest

import fusionlab
from fusionlab.formats.html import VENDOR_JS, render_html

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
VENDOR = ROOT / "fusionlab" / "formats" / "html" / "vendor"
MODEL_RW = "resnet18_qdq.onnx"  # its rewrite fixes 21 missed fusions: 132 predicted layers become 59
MOBILENET = ROOT / "tests" / "data" / "trt-artifacts" / "fuzzylabs_trtexec_trt10.4" / "mobilenet_v2"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Flags for a root, offline, GPU-less machine: no sandbox (root), no background fetches
#: (the closed network refuses them, which would log errors).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1600,1000")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium for the module, browser console log at every level."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(300)
    driver.set_script_timeout(300)
    yield driver
    driver.quit()


def open_page(browser, path: Path) -> list[dict]:
    """Load ``path`` as a file:// URL; returns the console log (asserting no error and
    that the report's script finished)."""
    browser.get(path.resolve().as_uri())
    state = browser.execute_script("return window.fusionlab ? [window.fusionlab.ready, window.fusionlab.errors] : null")
    log = browser.get_log("browser")
    errors = [e for e in log if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    assert state == [True, []], (state, log)
    return log


def count(browser, view: str, selector: str) -> int:
    return browser.execute_script(f"return window.fusionlab.views[{view!r}].cy.elements({selector!r}).length")


def css(browser, selector: str) -> int:
    return len(browser.find_elements("css selector", selector))


def layers_with_missed(report) -> int:
    """How many predicted layers hold a node of a missed finding (the red clusters)."""
    nodes = {n for f in report.findings if f.status == "missed" for n in f.nodes}
    return sum(bool(nodes & set(layer.nodes)) for layer in report.layers)


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for key, value in attrs:
            if key in ("src", "href", "action", "data", "poster", "srcset"):
                self.refs.append((tag, key, value or ""))


def test_vendored_files_are_whole_licensed_and_listed():
    readme = (VENDOR / "README.md").read_text()
    for name in VENDOR_JS:
        text = (VENDOR / name).read_text()
        assert len(text) > 40_000 and "</script" not in text.lower(), name
        assert f"`{name}`" in readme
    for lic in ("cytoscape.LICENSE", "cytoscape-dagre.LICENSE", "dagrejs-dagre.LICENSE", "chart.js.LICENSE"):
        assert "Permission is hereby granted" in (VENDOR / lic).read_text(), lic
        assert f"`{lic}`" in readme
    assert re.search(r"cytoscape\]\(.*\) \| 3\.\d+\.\d+ \| MIT", readme)


def test_the_page_is_self_contained(tmp_path):
    report = fusionlab.analyze(MODELS / "bert_tiny.onnx")
    page = render_html(report, MODELS / "bert_tiny.onnx")
    parser = _Refs()
    parser.feed(page)
    assert not [r for r in parser.refs if re.match(r"\s*(https?:)?//", r[2], re.I)], parser.refs
    assert not [r for r in parser.refs if r[0] == "script"]  # every script is inline
    assert "link" not in parser.tags and "iframe" not in parser.tags
    assert "sourceMappingURL" not in page
    assert "Content-Security-Policy" in page and "connect-src 'none'" in page
    for name in VENDOR_JS:  # each library is inlined whole (its last line is in the page)
        last = [ln for ln in (VENDOR / name).read_text().splitlines() if not ln.startswith("//#")][-1]
        assert last[-200:] in page, name


def test_html_needs_an_output_file(cli, tmp_path):
    code, out, err = cli("analyze", MODELS / "resnet18.onnx", "--output-format", "html")
    assert code == 2 and out == ""
    assert err.strip() == "fusionlab: error: --output-format html writes a file: give -o FILE (e.g. -o report.html)"
    code, _, err = cli("verify", MODELS / "resnet18.onnx", "--format", "html")
    assert code == 2 and "give -o FILE" in err
    code, _, err = cli("rewrite", MODELS / "resnet18.onnx", "--dry-run", "--output-format", "html")
    assert code == 2 and "give --report FILE" in err
    code, _, err = cli("verify", "--corpus", MODELS, "--format", "html", "-o", tmp_path / "c.html")
    assert code == 2 and "draws one model" in err
    assert list(tmp_path.iterdir()) == []


def test_bert_tiny_analyze_report_in_chromium(cli, browser, tmp_path):
    out = tmp_path / "bert_tiny.html"
    code, stdout, err = cli("analyze", MODELS / "bert_tiny.onnx", "--output-format", "html", "-o", out)
    assert code == 0, err
    assert stdout == ""
    report = fusionlab.analyze(MODELS / "bert_tiny.onnx")
    missed = [f for f in report.findings if f.status == "missed"]
    assert len(report.layers) == 51 and len(missed) == 3  # the shipped model's figures
    open_page(browser, out)
    # the graph: one collapsed cluster per predicted layer, the folded nodes alone
    assert count(browser, "predicted", "node.layer") == len(report.layers)
    assert count(browser, "predicted", "node.onnx") == len(report.absorbed)
    assert count(browser, "predicted", "node.layer.missed") == layers_with_missed(report) > 0
    # the DOM: one row per layer, one highlighted item per missed finding
    assert css(browser, "#layers-predicted tr[data-layer]") == len(report.layers)
    assert css(browser, "#findings li.finding.missed") == len(missed)
    assert css(browser, "#findings li.finding[data-code]") == len(report.findings)
    codes = [li.get_attribute("data-code") for li in browser.find_elements("css selector", "#findings li")]
    assert codes == [f.code for f in report.findings]
    assert browser.find_element("id", "summary").text == "Found 3 missed fusions and 1 lint."
    browser.save_screenshot(str(tmp_path / "bert_tiny.png"))
    browser.save_screenshot("/tmp/html_bert_tiny.png")
    assert (tmp_path / "bert_tiny.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clicking_a_missed_layer_expands_it_and_shows_the_failed_check(browser, tmp_path):
    """A real mouse click on the red cluster of bert_tiny's first missed fusion: the layer
    expands to its ONNX nodes and the side panel names the failed check and its reason."""
    from selenium.webdriver.common.action_chains import ActionChains

    report = fusionlab.analyze(MODELS / "bert_tiny.onnx")
    out = tmp_path / "bert_tiny.html"
    out.write_text(render_html(report, MODELS / "bert_tiny.onnx"))
    open_page(browser, out)
    finding = next(f for f in report.findings if f.status == "missed")
    gi = next(i for i, layer in enumerate(report.layers) if set(finding.nodes) & set(layer.nodes))
    layer = report.layers[gi]
    x, y = browser.execute_script(
        f"var cy = window.fusionlab.views.predicted.cy, n = cy.getElementById('g{gi}');"
        "cy.zoom(1.5); cy.center(n); var p = n.renderedPosition(); return [p.x, p.y];")
    box = browser.find_element("id", "cy-predicted")
    ActionChains(browser).move_to_element_with_offset(
        box, int(x - box.size["width"] / 2), int(y - box.size["height"] / 2)).click().perform()
    children = browser.execute_script(
        f"return window.fusionlab.views.predicted.cy.getElementById('g{gi}').children().length")
    assert children == len(layer.nodes) > 1
    panel = browser.find_element("id", "panel-body").text
    assert layer.kind in panel and "expanded" in panel
    assert f"check {finding.checks[0]} failed" in panel and finding.reasons[0][:40] in panel
    # a click on one of its nodes shows the node: op, inputs with shapes, the layer
    name = layer.nodes[0]
    browser.execute_script("var a = window.fusionlab, name = arguments[0];"
                           "a.views.predicted.showNode(a.data.graphs[0].nodes.findIndex(function (n) { return n[0] === name; }));",
                           name)
    panel = browser.find_element("id", "panel-body").text
    assert name in panel and "inputs" in panel and "[" in panel and layer.name[:30] in panel
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


HOSTILE_NAMES = ["</script><script>window.pwned=1</script>", "a\"'<b>&amp;</b>\x1b[31m\u2028x\x00y",
                 "<!--", "{{ 7*7 }}"]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=["script-close", "quotes-controls", "comment", "template"])
def test_hostile_node_names_stay_data(browser, tmp_path, name):
    sys.path.insert(0, str(ROOT / "tests"))
    from test_hostile_names import hostile_model

    model = hostile_model(name)
    path = tmp_path / "hostile.onnx"
    onnx.save(model, path)
    report = fusionlab.analyze(path)
    page = render_html(report, path)
    assert "<script>window.pwned" not in page
    assert "\x1b" not in page.split('id="fusionlab-data"')[0]  # the DOM text shows controls escaped
    out = tmp_path / "hostile.html"
    out.write_text(page, encoding="utf-8")
    open_page(browser, out)
    assert browser.execute_script("return window.pwned === undefined")
    names = browser.execute_script("return window.fusionlab.data.graphs[0].nodes.map(function (n) { return n[0]; })")
    assert names == [name, name + "_relu"]  # exact, through |tojson and JSON.parse
    assert css(browser, "#findings li.finding.missed") == 1
    assert count(browser, "predicted", "node.layer") == len(report.layers)


def test_a_10k_node_chain_draws_as_its_layers_and_expands_in_pages(browser, tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_memory import chain

    model = chain(10_000)
    report = fusionlab.analyze(model)
    page = render_html(report, model)
    vendor = sum(len((VENDOR / n).read_text()) for n in VENDOR_JS)
    # bounded: the libraries plus at most ~200 bytes per node (its JSON, its share of the
    # layer's name in the table and the JSON)
    assert len(page.encode()) < vendor + 200 * 10_000
    out = tmp_path / "chain.html"
    out.write_text(page)
    open_page(browser, out)
    assert count(browser, "predicted", "node.layer") == len(report.layers) == 1
    assert count(browser, "predicted", "node.onnx") == 0  # no ONNX node is built before a click
    drawn = browser.execute_script(
        "var v = window.fusionlab.views.predicted, cy = v.cy; cy.getElementById('g0').emit('tap');"
        "var first = cy.nodes('.onnx').length; cy.getElementById('m0').emit('tap');"
        "return [first, cy.nodes('.onnx').length, cy.nodes('.more').length, v.expanded[0]];")
    assert drawn == [200, 400, 1, 400]
    assert "9600 more" in browser.execute_script("return window.fusionlab.views.predicted.cy.getElementById('m0').data('label')")
    assert css(browser, "#layers-predicted tr[data-layer]") == 1
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _tapped_mobilenet(tmp_path) -> Path:
    """mobilenet_v2 with its first Conv's output also a graph output: TRT102 conv-clip is
    missed, and the trtexec 10.4 profile of the stock model times its layer."""
    from onnx import TensorProto, helper

    model = onnx.load(MODELS / "mobilenet_v2.onnx")
    conv = "/features/features.0/features.0.0/Conv"
    tensor = next(n.output[0] for n in model.graph.node if n.name == conv)
    model.graph.output.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None))
    path = tmp_path / "mobilenet_v2_tapped.onnx"
    onnx.save(model, path)
    return path


def test_verify_with_a_profile_draws_both_layerings_the_disagreements_and_the_time_chart(cli, browser, tmp_path):
    path = _tapped_mobilenet(tmp_path)
    args = ["verify", path, "--target", "tensorrt", "--precision", "fp16",
            "--layer-info", MOBILENET / "mobilenet_v2_fp16.graph.json",
            "--profile", MOBILENET / "mobilenet_v2_fp16.profile.json"]
    code, out, err = cli(*args, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    code, _, err = cli(*args, "--output-format", "html", "-o", tmp_path / "verify.html")
    assert code == 0, err
    open_page(browser, tmp_path / "verify.html")
    assert count(browser, "predicted", "node.layer") == len(data["layers"])
    built = [o for o in data["observed_layers"] if o["nodes"]]
    assert count(browser, "built", "node.layer") == len(built)
    missed = [f for f in data["findings"] if f["status"] == "missed"]
    assert css(browser, "#findings li.finding.missed") == len(missed) == 1
    assert css(browser, "#layers-predicted tr[data-layer]") == len(data["layers"])
    assert css(browser, "#layers-built tr[data-layer]") == len(built)
    # the edges that disagree: listed, and marked in the graph (an edge between two
    # clusters, or the clusters that hold it)
    assert css(browser, "#edge-errors tr[data-edge]") == len(data["edge_errors"]) > 0
    marked = count(browser, "predicted", "edge.disagree") + count(browser, "built", "edge.disagree")
    assert marked > 0 and count(browser, "built", "node.layer.disagree") > 0
    # the chart: the profile's layers, slowest first, the missed fusion's layer red
    chart = browser.execute_script(
        "var c = window.fusionlab.chart; return [c.data.labels.length, c.data.datasets[0].data,"
        " c.data.datasets[0].backgroundColor];")
    layer_ms = data["profile"]["layer_ms"]
    assert chart[0] == min(40, len(layer_ms))
    assert chart[1] == sorted(chart[1], reverse=True) and chart[1][0] == pytest.approx(max(layer_ms.values()), abs=1e-4)
    (cost,) = data["profile"]["missed_cost"]
    assert chart[2].count("#d62728") == len(cost["layers"]) == 1
    assert css(browser, "#missed-cost tr[data-missed-cost]") == 1
    assert f"{cost['ms']:.4f}" in browser.find_element("id", "profile-section").text
    browser.save_screenshot(str(tmp_path / "verify.png"))


@pytest.mark.needs_rtx
def test_resnet18_qdq_floatbias_live_verify_report_in_chromium(cli, browser, tmp_path):
    """``verify --output-format html`` with a live TensorRT-RTX build (on the CPU): the
    page shows the predicted and the built layers. The expected built layers come from
    the same build's log (``--save-log``), read back offline by ``verify --log``."""
    model = MODELS / "resnet18_qdq_floatbias.onnx"
    out, log = tmp_path / "verify_live.html", tmp_path / "build.log"
    code, _, err = cli("verify", model, "--target", "tensorrt-rtx", "--timeout", "300",
                       "--save-log", log, "--output-format", "html", "-o", out)
    assert code == 0, err
    code, js, err = cli("verify", model, "--target", "tensorrt-rtx", "--log", log, "--format", "json")
    assert code == 0, err
    data = json.loads(js)
    open_page(browser, out)
    missed = [f for f in data["findings"] if f["status"] == "missed"]
    assert count(browser, "predicted", "node.layer") == len(data["layers"])
    assert css(browser, "#layers-predicted tr[data-layer]") == len(data["layers"])
    known = report_nodes(model)
    built = [o for o in data["observed_layers"] if set(o["nodes"]) & known]
    assert count(browser, "built", "node.layer") == len(built) > 20
    assert css(browser, "#findings li.finding.missed") == len(missed)
    report = fusionlab.analyze(model, target="tensorrt-rtx")
    assert count(browser, "predicted", "node.layer.missed") == layers_with_missed(report)
    assert css(browser, "#findings li.finding[data-code]") == len(data["findings"]) == len(report.findings)
    assert css(browser, "#edge-errors tr[data-edge]") == len(data["edge_errors"])
    assert "live TensorRT-RTX" in browser.find_element("id", "score").text
    browser.save_screenshot(str(tmp_path / "verify_live.png"))
    browser.save_screenshot("/tmp/html_resnet18_qdq_floatbias_verify.png")
    assert (tmp_path / "verify_live.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def report_nodes(model) -> set[str]:
    from fusionlab.graph import load_graph

    return set(load_graph(model).nodes)


def test_rewrite_report_shows_before_and_after(cli, browser, tmp_path):
    """resnet18_qdq_floatbias: the rewrite's before and after graphs, its changes and refusals."""
    out = tmp_path / "rw.onnx"
    args = ["rewrite", MODELS / MODEL_RW, "-o", out]
    code, js, err = cli(*args, "--output-format", "json", "--report", tmp_path / "rw.json")
    assert code == 0, err
    data = json.loads((tmp_path / "rw.json").read_text())
    code, _, err = cli(*args, "--output-format", "html", "--report", tmp_path / "rw.html")
    assert code == 0, err
    open_page(browser, tmp_path / "rw.html")
    assert count(browser, "before", "node.layer") == data["summary"]["layers_before"]
    assert count(browser, "after", "node.layer") == data["summary"]["layers_after"]
    assert css(browser, "#changes tr[data-change]") == len(data["changes"])
    assert css(browser, "#refusals tr[data-refusal]") == len(data["refused"])
    after = fusionlab.analyze(out)
    assert css(browser, "#findings li.finding.missed") == len([f for f in after.findings if f.status == "missed"])
    before = fusionlab.analyze(MODELS / MODEL_RW)
    assert count(browser, "before", "node.layer.missed") == layers_with_missed(before)
    assert count(browser, "after", "node.layer.missed") == layers_with_missed(after)
    # the side panel of a layer names its tags (what the fusions made of it)
    gi, layer = next((i, lay) for i, lay in enumerate(before.layers) if "int8" in lay.tags)
    browser.execute_script(f"window.fusionlab.views.before.showGroup({gi});")
    panel = browser.find_element("id", "panel-body").text
    assert "tags\n" in panel or "tags " in panel
    assert ", ".join(layer.tags) in panel and layer.kind in panel


def test_ci_installs_chromium_with_readmes_test_command():
    """.ci/run runs README's second top command exactly, and that command installs the
    browser these tests open."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```\n", 2)[1].splitlines()
    command = block[1]
    assert command.startswith("apt-get update -qq && apt-get install -y -qq chromium chromium-driver && ")
    assert command.endswith(".venv/bin/python -m pytest -q")
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert lines[-1] == command
    assert any("sudo apt-get" in ln for ln in lines)  # not root: through sudo
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def test_every_file_of_the_html_package_is_package_data():
    """pyproject's package-data globs take every file the renderer reads (so a wheel has
    them: ``pip install . --target DIR`` lists them under fusionlab/formats/html/)."""
    import ast
    import fnmatch

    line = next(ln for ln in (ROOT / "pyproject.toml").read_text().splitlines()
                if ln.startswith('"fusionlab.formats.html" = '))
    globs = ast.literal_eval(line.split(" = ", 1)[1])  # a TOML list of strings is a Python list
    pkg = ROOT / "fusionlab" / "formats" / "html"
    files = [p.relative_to(pkg).as_posix() for p in pkg.rglob("*")
             if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert {"report.html.j2", "report.js", "report.css", "vendor/README.md"} <= set(files)
    assert [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)] == []


def test_thousands_of_layers_are_laid_out_in_ranks(browser, tmp_path):
    """3000 Softmax nodes in a chain are 3000 layers: more boxes than dagre is given
    (DAGRE_TOP_LIMIT), so they are placed by longest-path rank, each below its producer."""
    from onnx import TensorProto, helper

    n = 3000
    nodes = [helper.make_node("Softmax", [f"t{i}" if i else "x"], [f"t{i + 1}" if i + 1 < n else "y"],
                              name=f"softmax_{i}") for i in range(n)]
    graph = helper.make_graph(nodes, "softmax_chain",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    report = fusionlab.analyze(model)
    assert len(report.layers) == n
    out = tmp_path / "softmax_chain.html"
    out.write_text(render_html(report, model))
    open_page(browser, out)
    assert count(browser, "predicted", "node.layer") == n
    ys = browser.execute_script("var cy = window.fusionlab.views.predicted.cy;"
                                "return [0, 1, 1500, 2999].map(function (i) { return cy.getElementById('g' + i).position('y'); });")
    assert ys == sorted(ys) and len(set(ys)) == 4
    assert css(browser, "#layers-predicted tr[data-layer]") == n
