"""Server-side drawings: the lineage graph, line charts and the cipher histogram as SVG geometry, and a
grayscale PNG encoder. The templates turn the geometry into inline SVG; no JavaScript library is involved."""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from registry.roles import AuditedArtifact, Lineage, LineageRound, LineageUpdate

NODE_WIDTH = 200
NODE_HEIGHT = 58
ROUND_HEIGHT = 96
GAP = 14
ROUND_GAP = 34
COLUMNS = {"dataset": 16, "update": 276, "round": 536, "model": 796}
"""x of each column: datasets -> updates -> rounds -> model versions, left to right (arrows point to what was
derived)."""


@dataclass(frozen=True)
class Node:
    """A box of the lineage graph.

    Attributes:
        key: Unique id within the graph (e.g. ``update-12``).
        kind: ``model``, ``round``, ``update`` or ``dataset``.
        x, y, width, height: Its box.
        title: Its first line.
        lines: Further lines (untrusted text is escaped by the template).
        ok: Whether what it stands for verified.
        href: Where a click goes.
        artifact_id: The artifact it stands for (``None`` for a round).
        excluded: An update the aggregator left out.
        tooltip: The full text (addresses unabridged).
        covers: The artifacts whose verification its colour sums up (a verify that fails any turns it red).
    """

    key: str
    kind: str
    x: float
    y: float
    width: float
    height: float
    title: str
    lines: tuple[str, ...]
    ok: bool
    href: str
    artifact_id: int | None = None
    excluded: bool = False
    tooltip: str = ""
    covers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Edge:
    """An arrow from what something derives from to it (an SVG path)."""

    source: str
    target: str
    path: str
    excluded: bool = False


@dataclass
class Graph:
    width: float
    height: float
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def short(address: str) -> str:
    """``0x1234…abcd`` for an address, the text unchanged otherwise."""
    return f"{address[:6]}…{address[-4:]}" if len(address) == 42 and address.startswith("0x") else address


def lineage_graph(lineage: Lineage, base: str) -> Graph:
    """The lineage of a model version as boxes and arrows: each version's model <- its round <- the round's
    included and excluded updates (analyst, weight) <- their datasets, and each model <- its parent model.

    Args:
        lineage: The audited lineage.
        base: The federation's URL path (``/federation/N``) the nodes link under.
    """
    graph = Graph(width=COLUMNS["model"] + NODE_WIDTH + 16, height=0)
    dataset_ys: dict[int, float] = {}
    dataset_info = {d.artifact.artifact_id: d for r in lineage.rounds for d in r.datasets}
    y = 16.0
    model_nodes: list[Node] = []
    update_nodes: list[tuple[Node, tuple[int, ...]]] = []
    for r in lineage.rounds:
        updates = list(r.included) + list(r.excluded)
        block = max(len(updates) * (NODE_HEIGHT + GAP) - GAP, ROUND_HEIGHT)
        round_node = _round_node(r, base, y + (block - ROUND_HEIGHT) / 2)
        model_node = _model_node(r, base, y + (block - NODE_HEIGHT) / 2)
        graph.nodes += [round_node, model_node]
        graph.edges.append(_edge(round_node, model_node))
        model_nodes.append(model_node)
        top = y + (block - (len(updates) * (NODE_HEIGHT + GAP) - GAP)) / 2
        for i, update in enumerate(updates):
            node = _update_node(update, base, top + i * (NODE_HEIGHT + GAP))
            graph.nodes.append(node)
            update_nodes.append((node, update.parents))
            graph.edges.append(_edge(node, round_node, excluded=bool(update.exclusion)))
            for parent in update.parents:
                if parent in dataset_info:
                    dataset_ys.setdefault(parent, node.y)
        y += block + ROUND_GAP
    # Datasets where their first update is, pushed down so that none overlaps the one above.
    dataset_nodes: dict[int, Node] = {}
    floor = 16.0
    for dataset_id, wanted in sorted(dataset_ys.items(), key=lambda item: (item[1], item[0])):
        dy = max(wanted, floor)
        d = dataset_info[dataset_id]
        dataset_nodes[dataset_id] = Node(
            f"dataset-{dataset_id}", "dataset", COLUMNS["dataset"], dy, NODE_WIDTH, NODE_HEIGHT,
            f"dataset #{dataset_id}", (f"owner {short(d.owner)}", f"{d.sample_count} samples, {d.artifact.size} B"),
            d.artifact.ok, f"{base}/dataset/{dataset_id}", dataset_id,
            tooltip=f"dataset #{dataset_id} of {d.owner}: {d.sample_count} samples, CID {d.artifact.cid}",
            covers=(dataset_id,))
        floor = dy + NODE_HEIGHT + GAP
    graph.nodes += dataset_nodes.values()
    for node, parents in update_nodes:
        for parent in parents:
            if parent in dataset_nodes:
                graph.edges.append(_edge(dataset_nodes[parent], node, excluded=node.excluded))
    for child, parent in zip(model_nodes, model_nodes[1:]):  # newest first: each model's parent is below it
        cx = child.x + child.width / 2
        graph.edges.append(Edge(parent.key, child.key, f"M {cx} {parent.y} L {cx} {child.y + child.height + 6}"))
    graph.height = max([n.y + n.height for n in graph.nodes] + [y]) + 16
    return graph


def _badge_ok(*artifacts: AuditedArtifact) -> bool:
    return all(a.ok for a in artifacts)


def _round_node(r: LineageRound, base: str, y: float) -> Node:
    if r.threshold:
        holder = f"custodians {', '.join(short(c) for c in r.custodians) or '?'} ({r.threshold} of {len(r.partials)})"
        full = f"custodians {', '.join(r.custodians)}; finalized by {r.key_holder}"
    else:
        holder = f"key holder {short(r.key_holder)}"
        full = f"key holder {r.key_holder}"
    dp = f"ε {r.dp.epsilon:g}, cumulative {r.cumulative_epsilon:g}" if r.dp.enabled else "no DP"
    return Node(f"round-{r.round}", "round", COLUMNS["round"], y, NODE_WIDTH, ROUND_HEIGHT, f"round {r.round}",
                (f"key epoch {r.key_epoch}", f"aggregator {short(r.aggregator)}", holder, dp), r.ok,
                f"{base}/round/{r.round}",
                tooltip=f"round {r.round}, key epoch {r.key_epoch}; aggregator {r.aggregator}; {full}; {dp}",
                covers=tuple(a.artifact_id for a in r.artifacts))


def _model_node(r: LineageRound, base: str, y: float) -> Node:
    model = r.global_model
    return Node(f"model-{r.version}", "model", COLUMNS["model"], y, NODE_WIDTH, NODE_HEIGHT, f"model v{r.version}",
                (f"artifact #{model.artifact_id}", f"metrics #{r.metrics.artifact_id}"),
                _badge_ok(model, r.metrics), f"{base}/model/{r.version}", model.artifact_id,
                tooltip=f"model v{r.version} (artifact #{model.artifact_id}, CID {model.cid})",
                covers=(model.artifact_id, r.metrics.artifact_id))


def _update_node(update: LineageUpdate, base: str, y: float) -> Node:
    a = update.artifact
    state = f"excluded: {update.exclusion.name.lower()}" if update.exclusion else "included"
    return Node(f"update-{a.artifact_id}", "update", COLUMNS["update"], y, NODE_WIDTH, NODE_HEIGHT,
                f"update #{a.artifact_id}", (f"analyst {short(update.analyst)}", f"weight {update.weight}, {state}"),
                a.ok, f"#artifact-{a.artifact_id}", a.artifact_id, excluded=bool(update.exclusion),
                tooltip=f"update #{a.artifact_id} of {update.analyst}, weight {update.weight}, {state}, CID {a.cid}",
                covers=(a.artifact_id,))


def _edge(source: Node, target: Node, excluded: bool = False) -> Edge:
    x1, y1 = source.x + source.width, source.y + source.height / 2
    x2, y2 = target.x - 6, target.y + target.height / 2
    mid = (x1 + x2) / 2
    return Edge(source.key, target.key, f"M {x1} {y1} C {mid} {y1}, {mid} {y2}, {x2} {y2}", excluded)


# ---------------------------------------------------------------------- charts


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    label: str
    value: float
    highlight: bool = False


@dataclass(frozen=True)
class Chart:
    """A line chart: points (``None`` values are gaps), the line as SVG path, axis ticks."""

    width: float
    height: float
    points: tuple[ChartPoint, ...]
    path: str
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    missing: tuple[str, ...]
    left: float
    top: float
    bottom: float
    right: float


def line_chart(series: list[tuple[str, float | None]], y_max: float | None = None, highlight: str | None = None,
               width: float = 620, height: float = 240) -> Chart:
    """A line chart of ``series`` (label, value) left to right, from 0 to ``y_max`` (default: the largest value
    plus a margin), with ``highlight`` (a label) drawn larger."""
    left, right, top, bottom = 56.0, width - 16, 16.0, height - 36
    values = [v for _, v in series if v is not None]
    top_value = y_max if y_max is not None else (max(values) * 1.15 if values and max(values) > 0 else 1.0)
    n = len(series)

    def px(i: int) -> float:
        return left + (right - left) * (i / (n - 1) if n > 1 else 0.5)

    def py(v: float) -> float:
        return bottom - (bottom - top) * (v / top_value)

    points, parts, pen_down = [], [], False
    for i, (label, value) in enumerate(series):
        if value is None:
            pen_down = False
            continue
        x, y = px(i), py(min(max(value, 0.0), top_value))
        parts.append(f"{'L' if pen_down else 'M'} {x:.1f} {y:.1f}")
        pen_down = True
        points.append(ChartPoint(x, y, label, value, label == highlight))
    y_ticks = tuple((py(top_value * k / 4), f"{top_value * k / 4:.3g}") for k in range(5))
    every = max(1, math.ceil(n / 12))
    x_ticks = tuple((px(i), label) for i, (label, _) in enumerate(series) if i % every == 0 or i == n - 1)
    return Chart(width, height, tuple(points), " ".join(parts), y_ticks, x_ticks,
                 tuple(label for label, v in series if v is None), left, top, bottom, right)


@dataclass(frozen=True)
class Histogram:
    width: float
    height: float
    bars: tuple[tuple[float, float, float, float], ...]
    peak: int


def histogram(counts: tuple[int, ...], width: float = 512, height: float = 160) -> Histogram:
    """One bar per bin (x, y, width, height)."""
    peak = max(counts) if counts and max(counts) else 1
    bar = width / len(counts)
    return Histogram(width, height, tuple((i * bar, height - height * c / peak, bar, height * c / peak)
                                          for i, c in enumerate(counts)), peak)


def png_gray(image: np.ndarray) -> bytes:
    """A 2-D uint8 array as an 8-bit grayscale PNG."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    rows, columns = image.shape
    raw = b"".join(b"\x00" + image[r].tobytes() for r in range(rows))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", columns, rows, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
