/* fusionlab HTML report: draws each view of the page's JSON (#fusionlab-data) with
 * cytoscape.js + dagre. Part of fusionlab (Apache-2.0); see fusionlab/formats/html/__init__.py.
 *
 * A view: data.graphs[view.graph] = {nodes: [[name, op]], edges: [[u, v]], io: [...]},
 * view.groups = [{name, kind, rules, tags, nodes: [index], findings: [index], missed}],
 * view.owner[i] = the group drawing node i (-1: none, drawn alone), view.marked = [[u, v, why]].
 * Groups start collapsed (one node each); expanding one adds its ONNX nodes as children
 * of the compound node, PAGE at a time (the rest stand behind one "more" node that adds
 * the next PAGE when clicked), and re-routes the edges touching it. Every text is set with
 * textContent (never innerHTML).
 */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("fusionlab-data").textContent);
  var FULL_LAYOUT_LIMIT = 800;    // visible elements up to which every toggle re-runs dagre
  var DAGRE_CHILD_LIMIT = 400;    // children of one layer laid out by dagre, else placed in rows
  var PAGE = 200;                 // ONNX nodes a click on a layer (or on its "more" node) adds
  var DAGRE_TOP_LIMIT = 1500;     // top-level boxes dagre lays out; beyond, a longest-path layering
  var api = { views: {}, ready: false, errors: [], data: DATA };
  window.fusionlab = api;

  function short(text, n) {
    text = String(text);
    return text.length > n ? text.slice(0, n - 1) + "\u2026" : text;
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function row(table, key, value) {
    var tr = el("tr");
    tr.appendChild(el("td", key));
    var td = el("td");
    if (value instanceof Node) td.appendChild(value); else td.textContent = value;
    tr.appendChild(td);
    table.appendChild(tr);
  }

  function findingsOf(view) {
    return DATA[view.findings_key || "findings"] || [];
  }

  function findingBlock(f) {
    var div = el("div", null, "finding " + f.status);
    div.appendChild(el("b", f.codes.join(",") + " [" + f.rules.join(",") + "] " + f.severity + " " + f.status));
    for (var i = 0; i < f.reasons.length; i++) {
      div.appendChild(el("div", (f.checks[i] ? "check " + f.checks[i] + " failed: " : "") + f.reasons[i], "reason"));
    }
    div.appendChild(el("div", "nodes: " + f.nodes.join(", "), "nodes"));
    return div;
  }

  function makeView(view) {
    var container = document.getElementById("cy-" + view.id);
    var g = DATA.graphs[view.graph];
    var n = g.nodes.length;
    var expanded = {};              // group index -> how many of its nodes are drawn
    var owned = view.groups.map(function () { return []; });
    var rank = new Array(n);
    var adjacency = new Array(n);
    var i;
    for (i = 0; i < n; i++) adjacency[i] = [];
    var markedKey = {};
    view.marked.forEach(function (m) { markedKey[m[0] + ">" + m[1]] = m[2]; });
    for (i = 0; i < n; i++) {
      if (view.owner[i] >= 0) { rank[i] = owned[view.owner[i]].length; owned[view.owner[i]].push(i); }
    }
    g.edges.forEach(function (e, k) { adjacency[e[0]].push(k); adjacency[e[1]].push(k); });
    var nodeFindings = {};
    findingsOf(view).forEach(function (f, fi) {
      f.nodes.forEach(function (name) { (nodeFindings[name] = nodeFindings[name] || []).push(fi); });
    });

    function vis(node) {
      var o = view.owner[node];
      if (o < 0) return "n" + node;
      if (!expanded[o]) return "g" + o;
      return rank[node] < expanded[o] ? "n" + node : "m" + o;
    }

    function edgeElements(edgeIndices) {
      var out = {};
      edgeIndices.forEach(function (k) {
        var e = g.edges[k], a = vis(e[0]), b = vis(e[1]);
        var why = markedKey[e[0] + ">" + e[1]];
        if (a === b) return;
        var id = "e:" + a + ">" + b;
        if (!out[id]) out[id] = { group: "edges", data: { id: id, source: a, target: b }, classes: "" };
        if (why) out[id].classes = "disagree";
      });
      return Object.keys(out).map(function (id) { return out[id]; });
    }

    function groupElement(gi) {
      var grp = view.groups[gi];
      var cls = ["layer"];
      if (grp.missed) cls.push("missed");
      else if (grp.findings.length) cls.push("lintl");
      if (grp.disagree) cls.push("disagree");
      var label = grp.nodes.length > 1 ? grp.kind + " \u00d7" + grp.nodes.length : g.nodes[grp.nodes[0]][1];
      return { group: "nodes", data: { id: "g" + gi, label: short(label, 28) + "\n" + short(grp.name, 36), gi: gi },
               classes: cls.join(" ") };
    }

    function nodeElement(node, parent) {
      var cls = ["onnx"];
      if (view.owner[node] < 0) cls.push("absorbed");
      if (nodeFindings[g.nodes[node][0]]) cls.push("has-finding");
      var d = { id: "n" + node, label: g.nodes[node][1] + "\n" + short(g.nodes[node][0], 30), ni: node };
      if (parent !== undefined) d.parent = parent;
      return { group: "nodes", data: d, classes: cls.join(" ") };
    }

    // a group holding an edge on which prediction and build disagree is marked too
    view.marked.forEach(function (m) {
      [m[0], m[1]].forEach(function (node) {
        var o = view.owner[node];
        if (o >= 0) view.groups[o].disagree = true;
      });
    });

    var elements = [];
    for (i = 0; i < view.groups.length; i++) elements.push(groupElement(i));
    for (i = 0; i < n; i++) if (view.owner[i] < 0) elements.push(nodeElement(i));
    var all = [];
    for (i = 0; i < g.edges.length; i++) all.push(i);
    elements = elements.concat(edgeElements(all));
    var big = elements.length > FULL_LAYOUT_LIMIT;

    var cy = cytoscape({
      container: container,
      elements: elements,
      textureOnViewport: big,
      hideEdgesOnViewport: big,
      minZoom: 0.02,
      maxZoom: 4,
      style: [
        { selector: "node", style: { "label": "data(label)", "text-wrap": "wrap", "font-size": 9,
          "text-valign": "center", "text-halign": "center", "shape": "round-rectangle",
          "width": 150, "height": 34, "background-color": "#e8f0fa", "border-width": 2,
          "border-color": "#3b6ea5", "min-zoomed-font-size": 6 } },
        { selector: "node.onnx", style: { "background-color": "#ffffff", "border-width": 1, "width": 130,
          "height": 30, "border-color": "#555" } },
        { selector: "node.absorbed", style: { "background-color": "#eeeeee", "border-style": "dashed",
          "border-color": "#aaaaaa", "color": "#777777", "width": 110, "height": 24 } },
        { selector: "node.has-finding", style: { "border-color": "#d62728", "border-width": 2 } },
        { selector: ":parent", style: { "text-valign": "top", "text-halign": "center", "padding": 12,
          "background-opacity": 0.35 } },
        { selector: "node.lintl", style: { "background-color": "#fff4dc", "border-color": "#ff9f1c", "border-width": 3 } },
        { selector: "node.missed", style: { "background-color": "#fde8e8", "border-color": "#d62728", "border-width": 4 } },
        { selector: "node.disagree", style: { "outline-width": 3, "outline-color": "#9b30d9" } },
        { selector: "node.more", style: { "background-color": "#f7f7f7", "border-style": "dotted", "width": 170 } },
        { selector: "node:selected", style: { "overlay-color": "#3b6ea5", "overlay-opacity": 0.25 } },
        { selector: "edge", style: { "width": 1.5, "line-color": "#999", "target-arrow-color": "#999",
          "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8 } },
        { selector: "edge.disagree", style: { "width": 3, "line-color": "#9b30d9", "target-arrow-color": "#9b30d9",
          "line-style": "dashed" } }
      ],
      layout: { name: "preset" }
    });

    function layoutAll() {
      if (cy.nodes().orphans().length > DAGRE_TOP_LIMIT) { quickLayout(); return; }
      cy.layout({ name: "dagre", rankDir: "TB", nodeSep: 20, rankSep: 30, animate: false, fit: true }).run();
    }

    // thousands of boxes: rank = longest path from a source (Kahn's order, O(V + E)),
    // boxes of one rank side by side in graph order; the view starts at the inputs
    function quickLayout() {
      var top = cy.nodes().orphans(), pos = {}, indeg = {}, out = {}, rank = {}, queue = [];
      top.forEach(function (node, j) { pos[node.id()] = j; indeg[node.id()] = 0; out[node.id()] = []; rank[node.id()] = 0; });
      function home(node) { return node.isChild() ? node.parent().id() : node.id(); }
      cy.edges().forEach(function (e) {
        var a = home(e.source()), b = home(e.target());
        if (a !== b) { out[a].push(b); indeg[b] += 1; }
      });
      top.forEach(function (node) { if (!indeg[node.id()]) queue.push(node.id()); });
      for (var q = 0; q < queue.length; q++) {
        out[queue[q]].forEach(function (b) {
          rank[b] = Math.max(rank[b], rank[queue[q]] + 1);
          if (--indeg[b] === 0) queue.push(b);
        });
      }
      var width = {};
      cy.batch(function () {
        top.forEach(function (node) {
          var r = rank[node.id()], col = width[r] || 0;
          width[r] = col + 1;
          if (!node.isParent()) node.position({ x: col * 170, y: r * 60 });
        });
      });
      cy.zoom(0.8);
      cy.pan({ x: container.clientWidth / 2, y: 40 });
    }

    function layoutChildren(gi) {
      var parent = cy.getElementById("g" + gi);
      var kids = parent.children();
      var p = parent.position();
      if (kids.length <= DAGRE_CHILD_LIMIT) {
        kids.union(kids.edgesWith(kids)).layout({ name: "dagre", rankDir: "TB", nodeSep: 15, rankSep: 25,
          animate: false, fit: false, boundingBox: { x1: p.x, y1: p.y, w: 400, h: 400 } }).run();
        return;
      }
      // many nodes: rows of 40 in topological order, no layout run (positions set directly)
      cy.batch(function () {
        kids.forEach(function (k, j) { k.position({ x: p.x + (j % 40) * 150, y: p.y + Math.floor(j / 40) * 45 }); });
      });
    }

    function moreElement(gi) {
      var left = owned[gi].length - expanded[gi];
      return { group: "nodes", data: { id: "m" + gi, parent: "g" + gi, more: gi,
               label: "+ " + left + " more ONNX nodes\n(click to draw " + Math.min(PAGE, left) + ")" },
               classes: "more" };
    }

    // collapse group gi, expand it (its first PAGE nodes), or with more=true draw PAGE more
    function toggle(gi, more) {
      var grp = view.groups[gi];
      var parent = cy.getElementById("g" + gi);
      cy.batch(function () {
        parent.union(parent.children()).connectedEdges().remove();
        cy.getElementById("m" + gi).remove();
        var from = 0;
        if (more && expanded[gi]) {
          from = expanded[gi];
          expanded[gi] = Math.min(owned[gi].length, from + PAGE);
        } else if (expanded[gi]) {
          parent.children().remove();
          delete expanded[gi];
        } else {
          expanded[gi] = Math.min(owned[gi].length, PAGE);
        }
        if (expanded[gi]) {
          cy.add(owned[gi].slice(from, expanded[gi]).map(function (node) { return nodeElement(node, "g" + gi); }));
          if (expanded[gi] < owned[gi].length) cy.add(moreElement(gi));
        }
        var touching = {};
        grp.nodes.forEach(function (node) { adjacency[node].forEach(function (k) { touching[k] = true; }); });
        var add = edgeElements(Object.keys(touching).map(Number))
          .filter(function (e) { return cy.getElementById(e.data.id).empty(); });
        cy.add(add);
      });
      if (cy.elements().length <= FULL_LAYOUT_LIMIT) layoutAll();
      else if (expanded[gi]) layoutChildren(gi);
    }

    function collapseAll() {
      Object.keys(expanded).forEach(function (gi) { toggle(Number(gi)); });
    }

    function showGroup(gi) {
      var grp = view.groups[gi];
      var body = document.getElementById("panel-body");
      body.textContent = "";
      body.appendChild(el("h3", view.group_label + " " + gi + (expanded[gi] ?
        " (expanded: " + expanded[gi] + " of " + owned[gi].length + " nodes drawn; click to collapse)" :
        " (collapsed: click to expand)")));
      var t = el("table");
      row(t, "name", grp.name);
      row(t, "kind", grp.kind);
      row(t, "rules", grp.rules.join(", ") || "(none: a lone node)");
      if (grp.tags.length) row(t, "tags", grp.tags.join(", "));
      if (grp.ms !== undefined && grp.ms !== null) row(t, "time", grp.ms.toFixed(5) + " ms");
      row(t, "ONNX nodes", String(grp.nodes.length));
      var list = el("div");
      grp.nodes.slice(0, 200).forEach(function (node) {
        list.appendChild(el("div", g.nodes[node][1] + "  " + g.nodes[node][0]));
      });
      if (grp.nodes.length > 200) list.appendChild(el("div", "... and " + (grp.nodes.length - 200) + " more"));
      row(t, "nodes", list);
      body.appendChild(t);
      var fs = findingsOf(view);
      if (grp.findings.length) {
        body.appendChild(el("h3", "findings"));
        grp.findings.forEach(function (fi) { body.appendChild(findingBlock(fs[fi])); });
      }
    }

    function tensorList(items) {
      var div = el("div");
      items.forEach(function (it) {
        div.appendChild(el("div", (it[0] === "" ? "(omitted)" : it[0]) + (it[1] ? "  " + it[1] : "")));
      });
      return div;
    }

    function showNode(node) {
      var io = g.io[node];
      var body = document.getElementById("panel-body");
      body.textContent = "";
      body.appendChild(el("h3", "ONNX node"));
      var t = el("table");
      row(t, "name", g.nodes[node][0]);
      row(t, "op", g.nodes[node][1]);
      row(t, "inputs", tensorList(io[0]));
      row(t, "outputs", tensorList(io[1]));
      var attrs = Object.keys(io[2]);
      if (attrs.length) {
        var a = el("div");
        attrs.forEach(function (k) { a.appendChild(el("div", k + " = " + io[2][k])); });
        row(t, "attributes", a);
      }
      var o = view.owner[node];
      row(t, view.group_label, o < 0 ? "none (folded or erased)" : view.groups[o].name);
      if (o >= 0) row(t, "layer kind", view.groups[o].kind);
      body.appendChild(t);
      var fis = nodeFindings[g.nodes[node][0]] || [];
      var fs = findingsOf(view);
      if (fis.length) {
        body.appendChild(el("h3", "findings"));
        fis.forEach(function (fi) { body.appendChild(findingBlock(fs[fi])); });
      }
    }

    cy.on("tap", "node", function (evt) {
      var d = evt.target.data();
      if (d.more !== undefined) {
        toggle(d.more, true);
        showGroup(d.more);
      } else if (d.gi !== undefined) {
        toggle(d.gi);
        showGroup(d.gi);
      } else {
        showNode(d.ni);
      }
    });

    layoutAll();
    api.views[view.id] = { cy: cy, toggle: toggle, collapseAll: collapseAll, expanded: expanded,
                           showGroup: showGroup, showNode: showNode };
  }

  function chart() {
    var canvas = document.getElementById("layer-time-chart");
    if (!canvas || !DATA.chart) return;
    var rows = DATA.chart.layers.slice(0, 40);
    api.chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map(function (r) { return short(r[0], 50); }),
        datasets: [{ label: "average ms per inference", data: rows.map(function (r) { return r[1]; }),
                     backgroundColor: rows.map(function (r) { return r[2] ? "#d62728" : "#3b6ea5"; }) }]
      },
      options: { indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false,
                 plugins: { legend: { display: false },
                            title: { display: true, text: "slowest engine layers (red: holds a missed fusion)" } } }
    });
  }

  try {
    DATA.views.forEach(makeView);
    chart();
    document.getElementById("collapse-all").addEventListener("click", function () {
      Object.keys(api.views).forEach(function (k) { api.views[k].collapseAll(); api.views[k].cy.fit(); });
    });
    document.getElementById("fit").addEventListener("click", function () {
      Object.keys(api.views).forEach(function (k) { api.views[k].cy.fit(); });
    });
    api.ready = true;
  } catch (err) {
    api.errors.push(String(err));
    throw err;
  }
})();
