"""Graph pictures, the backward step-through (in a real headless browser too), and plots."""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

import graphviz
import numpy as np
import pytest

import nn
from autograd_core import Tensor, Value, ops, topological_order
from visualize import Picture, draw_graph, trace_backward
from visualize.collapse import MAX_BOXES
from visualize.plots import plot_decision_boundary, plot_history


def chain_rule() -> tuple[Value, dict[str, Value]]:
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f, {"x": x, "y": y, "z": z, "q": q}


def cells(source: str, node_id: str) -> list[str]:
    """The cells of a value's box in DOT source, unescaped, e.g. ['x', 'data -2', 'grad -4']."""
    match = re.search(rf"^\s*{node_id} \[label=<(.*)> ", source, flags=re.M)
    assert match, f"no node {node_id} in\n{source}"
    return [
        html.unescape(re.sub("</?B>", "", c))
        for c in re.findall(r"<TD[^>]*>(.*?)</TD>", match.group(1))
    ]


def attributes(source: str, node_id: str) -> str:
    match = re.search(rf"^\s*{node_id} \[(.*)\]$", source, flags=re.M)
    assert match, f"no node {node_id}"
    return match.group(1)


def svg_texts(graph: graphviz.Digraph) -> set[str]:
    """Every text element of the rendered picture."""
    svg = graph.pipe(format="svg").decode()
    return {html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}


# ---- draw_graph -------------------------------------------------------------------------------


def test_chain_rule_graph_holds_every_value_and_gradient() -> None:
    f, _ = chain_rule()
    f.backward()
    source = draw_graph(f).source
    assert cells(source, "v0") == ["x", "data -2", "grad -4"]
    assert cells(source, "v1") == ["y", "data 5", "grad -4"]
    assert cells(source, "v2") == ["q", "data 3", "grad -4"]
    assert cells(source, "v3") == ["z", "data -4", "grad 3"]
    assert cells(source, "v4") == ["f", "data -12", "grad 1"]
    assert "v2op [label=<+>" in source and "v4op [label=<*>" in source
    for edge in ("v0 -> v2op", "v1 -> v2op", "v2op -> v2", "v2 -> v4op", "v3 -> v4op"):
        assert edge in source
    assert re.search(r"\bid=\"?e2_0\"?", source) and re.search(r"\bid=\"?v4\"?[ \]]", source)


def test_dot_source_is_identical_across_builds() -> None:
    sources = []
    for _ in range(2):
        f, _ = chain_rule()
        f.backward()
        sources.append(draw_graph(f, local_grads=True).source)
    assert sources[0] == sources[1]


def test_gate_colours_copies_and_a_legend_from_the_op_table() -> None:
    a, b, w = Value(2.0, "a"), Value(-1.0, "b"), Value(0.5, "w")
    out = (a * w + a).max(b) + (a * b).relu() + a.sigmoid()
    out.label = "out"
    out.backward()
    source = draw_graph(out, parameters={"w": w}, local_grads=True).source
    assert "#1f78b4" in source and "#e6550d" in source and "#33a02c" in source  # add, mul, max
    for op in ("+", "*", "max", "relu", "sigmoid"):
        assert html.escape(ops.lookup(op).meaning, quote=False) in source, op  # type: ignore[union-attr]
    assert "copy: a value used more than once" in source  # a is used four times
    a_id = f"v{topological_order(out).index(a)}"
    a_edges = re.findall(rf"^\s*{a_id} -> v\d+op \[(.*)\]$", source, flags=re.M)
    assert len(a_edges) == 4 and all('color="#6a3d9a"' in e for e in a_edges)
    w_id = f"v{topological_order(out).index(w)}"
    assert 'fillcolor="#fff3b0"' in attributes(source, w_id)  # w drawn as a parameter
    assert 'label="local 0.5"' in source  # d(a*w)/da = w
    plain = draw_graph(out, show_grad=False, legend=False).source
    assert "grad" not in plain and "legend" not in plain


def test_constants_are_drawn_as_constants_not_inputs() -> None:
    a, b = Value(3.0, "a"), Value(-1.0, "b")
    out = 2 * (a + b) - a  # the 2, and the -1 of the minus, are constants
    out.backward()
    picture = Picture(out)
    constants = [i for i, kind in enumerate(picture.kinds) if kind == "constant"]
    assert sorted(picture.names[i] for i in constants) == ["-1", "2"]
    source = draw_graph(out).source
    for i in constants:
        assert cells(source, f"v{i}") in (["2"], ["-1"])  # no data or grad cell: a plain number
        assert 'class="value constant"' in attributes(source, f"v{i}")
        assert 'fillcolor="#f2f2f2"' in attributes(source, f"v{i}")
    assert 'class="value input"' in attributes(source, f"v{picture.index[id(a)]}")
    assert "a constant (a plain number" in source
    assert "an op of your own" not in source  # a constant's op "const" is not an op in the legend
    assert cells(draw_graph(out, constant_grads=True).source, f"v{constants[0]}")[1].startswith(
        "grad"
    )


def test_unlabelled_leaves_the_user_made_are_inputs_with_gradients() -> None:
    """Only numbers an op turned into leaves are constants: `Value(3.0)` without a label is an
    input, named in1, in2, ..., with its gradient shown in the picture and the panel."""
    a, b = Value(3.0), Value(-2.0)
    out = a * b + 4
    picture = Picture(out)
    assert [picture.kinds[picture.index[id(v)]] for v in (a, b)] == ["input", "input"]
    assert [picture.name(v) for v in (a, b)] == ["in1", "in2"]
    assert [picture.names[i] for i, k in enumerate(picture.kinds) if k == "constant"] == ["4"]
    trace = trace_backward(out)
    assert "dout/din1 += " in "\n".join(trace.texts())
    assert cells(draw_graph(out).source, f"v{picture.index[id(a)]}") == ["in1", "data 3", "grad -2"]
    t = Tensor(np.ones(2))  # an array the user made, without requires_grad: an input too
    picture = Picture((Tensor(np.ones(2), requires_grad=True) * t * 2.0).sum())
    assert picture.kinds[picture.index[id(t)]] == "input"
    assert picture.kinds.count("constant") == 1


def test_parameters_are_named_from_a_module_or_a_mapping() -> None:
    neuron = nn.Neuron(2, "tanh", weights=[0.5, -1.0], bias=0.25)
    out = neuron([Value(1.5, "x0"), Value(-0.5, "x1")])
    assert [p.label for p in neuron.parameters()] == ["w.0", "w.1", "b"]  # nn labels them
    picture = Picture(out, parameters=neuron)
    names = {picture.names[i] for i, kind in enumerate(picture.kinds) if kind == "parameter"}
    assert names == {"w0", "w1", "b"}
    model = nn.MLP(2, [3, 1])
    assert model.layers[1].neurons[0].w[2].label == "layers.1.neurons.0.w.2"
    picture = Picture(model([0.5, 1.0]), parameters=model)
    assert "L1.n0.w2" in picture.names and "L0.n2.b" in picture.names
    mine = Value(1.0, "mine")
    assert Picture(mine * 2, parameters={"my.weight": mine}).names[0] == "my.weight"


def test_labels_cannot_inject_markup() -> None:
    hostile = Value(1.0, "</script><script>document.title='x'</script>")
    comment = Value(2.0, "<!--<script>")
    out = hostile * comment
    out.label = "a|b{c}&<d>"
    graph = draw_graph(out)
    svg = graph.pipe(format="svg").decode()
    assert "<script" not in svg and "<!--<" not in svg
    texts = svg_texts(graph)
    assert {hostile.label, comment.label, out.label} <= texts


def test_an_op_name_of_ones_own_is_drawn_as_written() -> None:
    """A student's op named with a backslash or markup: Graphviz reads neither as an escape."""
    x = Value(2.0, "x")
    op = 'sin\\n<b>&"q"'
    y = Value(math.sin(2.0), op=op, parents=(x,), local_grads=(math.cos(2.0),))
    assert op in svg_texts(draw_graph(y))


@pytest.mark.parametrize(("label", "shown"), [(None, "in1"), (123, "123"), (4.5, "4.5")])
def test_a_label_set_to_something_else_than_text_is_drawn_as_text(
    label: object, shown: str
) -> None:
    x = Value(1.0)
    x.label = label  # type: ignore[assignment]  # the constructor checks; an assignment does not
    out = x * 2
    assert shown in svg_texts(draw_graph(out))
    assert f"dout/d{shown} += " in trace_backward(out).texts()[-1]


def test_render_svg_and_png(tmp_path: Path) -> None:
    f, _ = chain_rule()
    f.backward()
    graph = draw_graph(f)
    svg = graph.pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "data &#45;12" in svg
    png = graph.pipe(format="png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    path = graph.render(tmp_path / "chain", format="svg", cleanup=True)
    assert Path(path).read_text().count("<svg") == 1


def test_a_graph_too_large_to_read_is_drawn_collapsed() -> None:
    out = Value(1.0, "x")
    for _ in range(300):
        out = out * 1.01
    collapsed = draw_graph(out)  # 601 values: more than max_nodes=300
    assert (
        re.search(r"\bid=\"?b0\"?", collapsed.source) and "601 values drawn as" in collapsed.source
    )
    assert re.search(r"\bid=\"?v600\"?", draw_graph(out, collapse=False).source)


def test_a_long_chain_of_alternating_ops_collapses_to_a_bounded_number_of_boxes() -> None:
    """No module groups it and no two neighbours share an op: banded by depth, so dot gets at
    most MAX_BOXES boxes whatever the length (4,001 values here)."""
    out = Value(1.0, "x")
    for _ in range(1000):
        out = out * 1.0001 + 0.001
    source = draw_graph(out).source
    box_ids = re.findall(r"\bid=\"?(b\d+)\"?", source)
    assert 0 < len(set(box_ids)) <= MAX_BOXES
    assert "4001 values drawn as" in source and "ops at depth 1-" in source
    assert "-1999<" in source  # the last band ends at the deepest op (the output is its own box)
    assert "constant x2000" in source and "const x" not in source  # kinds in words, not op names
    assert b"<svg" in draw_graph(out).pipe("svg")


def test_tensor_graph_shows_shapes_and_summaries() -> None:
    W = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, label="W")
    x = Tensor(np.ones((4, 2)), label="x")
    loss = (x @ W).relu().mean()
    loss.backward()
    source = draw_graph(loss).source
    w_cells = cells(source, "v1")
    assert w_cells[:3] == ["W", "(2, 3) float64", "data mean 2.5 min 0 max 5"]
    assert w_cells[3].startswith("grad mean 0.3333")  # each W entry: mean of x over the batch / 3
    assert 'fillcolor="#fff3b0"' in attributes(source, "v1")  # W requires grad: a parameter
    assert "label=<@>" in source


# ---- the backward step-through -----------------------------------------------------------------


def test_the_first_step_is_the_seed_alone_then_one_step_per_op() -> None:
    f, nodes = chain_rule()
    trace = trace_backward(f)
    assert [trace.picture.names[step.node] for step in trace.steps] == ["f", "f", "q"]
    assert trace.steps[0].contributions == () and trace.steps[0].upstream == 1.0
    assert trace.grads_after(0) == {4: 1.0}  # only the seed is known
    assert trace.text(0).startswith("Step 1 of 3: start at the output f\ndf/df = 1")
    second = trace.text(1)
    assert "Step 2 of 3: f = q * z" in second
    assert "local gradient df/dq = z = -4" in second and "local gradient df/dz = q = 3" in second
    assert "df/dq += 1 * -4 = -4" in second
    third = trace.text(2)
    assert "df/dx += df/dq * dq/dx = -4 * 1 = -4" in third
    assert "local gradient dq/dx = 1" in third
    assert [(c.parent, c.local_grad, c.contribution) for c in trace.steps[1].contributions] == [
        (2, -4.0, -4.0),
        (3, 3.0, 3.0),
    ]
    g, plain = chain_rule()
    g.backward()
    assert {k: v.grad for k, v in nodes.items()} == {k: v.grad for k, v in plain.items()}


def test_running_totals_where_a_value_is_used_more_than_once() -> None:
    x = Value(3.0, "x")
    out = x * x + x
    texts = trace_backward(out).texts()
    assert "(dout/dx: 1; 1 of 3 uses)" in texts[1]
    assert "(dout/dx: 1 -> 4; 2 of 3 uses)" in texts[2]
    assert "(dout/dx: 1 -> 4 -> 7; 3 of 3 uses)" in texts[2]
    assert x.grad == 7.0


def panel_names(text: str) -> set[str]:
    """Every node name a panel writes as d<name>/d<name>."""
    return {name for pair in re.findall(r"d([^\s/]+)/d([^\s=,;:()]+)", text) for name in pair}


def neuron_out() -> tuple[Value, nn.Neuron]:
    neuron = nn.Neuron(2, "tanh", weights=[0.5, -1.0], bias=0.25)
    return neuron([Value(1.5, "x0"), Value(-0.5, "x1")]), neuron


def tensor_loss() -> tuple[Tensor, nn.Module]:
    model = nn.batch.MLP(3, [4, 2], seed=1)
    X = Tensor(np.random.default_rng(0).normal(size=(5, 3)), label="X")
    loss = nn.cross_entropy(model(X), np.array([0, 1, 1, 0, 1]))
    loss.label = "L"
    return loss, model


@pytest.mark.parametrize("case", ["x*x + x", "neuron", "tensor MLP"])
def test_every_name_in_every_panel_is_in_that_steps_picture(case: str) -> None:
    if case == "x*x + x":
        x = Value(3.0, "x")
        trace = trace_backward(x * x + x)
    elif case == "neuron":
        out, neuron = neuron_out()
        trace = trace_backward(out, parameters=neuron)
    else:
        loss, model = tensor_loss()
        trace = trace_backward(loss, parameters=model)
    texts = trace.texts()
    assert len(texts) == len(trace) >= 3
    for k, text in enumerate(texts):
        frame = trace.frame(k)
        names = panel_names(text)
        assert names, text
        assert names <= svg_texts(frame), (k, names - svg_texts(frame))
        for i, kind in enumerate(trace.picture.kinds):  # constants stay constants in every frame
            if kind == "constant":
                assert 'class="value constant"' in attributes(frame.source, f"v{i}")
    if case == "neuron":
        assert {"w0", "w1", "b", "x0", "x1"} <= panel_names(texts[-1])
    if case == "tensor MLP":
        assert "dL/dL0.weight = X^T @ dL/dn1   (shape (3, 4))" in texts[-1]
        assert "(softmax(n3) - onehot(labels)) / M" in texts[1]
        assert "n3 = n2 @ L2.weight + L2.bias" in texts[2]  # nn.Linear is one fused node


def test_frames_highlight_the_step_and_blank_the_unknown() -> None:
    f, _ = chain_rule()
    trace = trace_backward(f)
    second = trace.frame(1).source  # f passes to q and z; x and y not reached yet
    assert cells(second, "v0") == ["x", "data -2", "grad "]
    assert cells(second, "v3") == ["z", "data -4", "grad 3"]
    assert 'fillcolor="#ffd700"' in attributes(second, "v4")  # the node of this step
    assert 'fillcolor="#c7e9c0"' in attributes(second, "v2")  # an input receiving
    assert re.search(r"v2 -> v4op \[.*label=\"\+= -4\".*color=\"#d62728\"", second)
    assert "dir=back" in second  # arrows point the way the gradient flows
    assert "the node passing its gradient back in this step" in second  # the legend says so
    assert cells(trace.frame(2).source, "v0") == ["x", "data -2", "grad -4"]


def test_trace_of_a_tensor_needs_a_single_element_root() -> None:
    with pytest.raises(ValueError, match=r"single-element root, got shape \(2,\)"):
        trace_backward(Tensor(np.ones(2), requires_grad=True) * 2.0)


@pytest.mark.parametrize(
    "reduce",
    [lambda x: x.mean(), lambda x: x @ x, lambda x: x.logsumexp(), lambda x: (x * x).sum()],
    ids=["mean", "matmul", "logsumexp", "sum"],
)
def test_a_tensor_reduced_to_one_number_is_traced_and_drawn_as_a_tensor(reduce) -> None:  # type: ignore[no-untyped-def]
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True, label="x")
    root = reduce(x)
    assert type(root.data) is np.ndarray and root.data.shape == ()  # not a NumPy scalar
    trace = trace_backward(root)
    expected = np.array(x.grad)
    x.zero_grad()
    reduce(x).backward()
    np.testing.assert_allclose(expected, x.grad)
    last = trace.texts()[-1]
    assert "(shape (3,))" in last  # described as an array, not as a scalar Value
    assert "x" in svg_texts(draw_graph(root))  # the input's box, by its label


def test_a_tensor_used_twice_shows_its_running_total_after_each_use() -> None:
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True, label="x")
    trace = trace_backward((x * x).sum())
    first, second = trace.steps[-1].contributions
    np.testing.assert_array_equal(first.total, [0.5, -1.0])  # one use in: x, not the final 2x
    np.testing.assert_array_equal(second.total, [1.0, -2.0])
    assert "(dout/dx: [ 0.5 -1. ]; 1 of 2 uses)" in trace.texts()[-1]


def test_a_tensor_root_that_needs_no_gradient_is_refused_as_backward_refuses_it() -> None:
    with pytest.raises(RuntimeError, match=r"trace_backward: .*requires_grad=True"):
        trace_backward((Tensor([1.0, 2.0]) * 2.0).sum())


def test_a_one_number_tensor_reads_as_a_number() -> None:
    x = Tensor([0.5, -1.0], requires_grad=True, label="x")
    root = (x * x).sum()
    trace = trace_backward(root)
    assert "dout/dout = 1: the output" in trace.texts()[0]
    assert "[1]" not in trace.texts()[0]
    assert cells(draw_graph(root).source, "v2") == ["out", "() float64", "data 1.25", "grad 1"]


def test_the_step_texts_grow_linearly_with_a_value_used_many_times() -> None:
    """y = x + x + ... + x: every step adds to x's running total, and each step writes the
    chain's first and last few totals and how many it leaves out, so 4x the terms is about 4x
    the text (a step that wrote the whole chain made it 16x), measured in characters and in
    memory, not time."""
    import tracemalloc

    def texts_of(n: int) -> tuple[int, int, list[str]]:
        x = Value(1.0, "x")
        y = x
        for _ in range(n - 1):
            y = y + x
        trace = trace_backward(y)
        tracemalloc.start()
        texts = trace.texts()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return sum(map(len, texts)), peak, texts

    small, small_peak, _ = texts_of(1000)
    large, large_peak, texts = texts_of(4000)
    assert 3.5 < large / small < 4.5
    assert large_peak / small_peak < 6
    assert texts[-1].endswith(
        "(dout/dx: 1 -> (3996 more) -> 3998 -> 3999 -> 4000; 4000 of 4000 uses)"
    )


def test_trace_memory_grows_linearly_with_one_step_per_op_node() -> None:
    """Memory per node, not time (the machine is shared): 10x the nodes costs about the same per
    node (a quadratic trace, as a copy of every gradient per step was, would cost 10x)."""
    import tracemalloc

    def chain(n: int) -> Value:
        x = Value(0.5, "x")
        out = x
        for _ in range(n // 2):
            out = (out * 1.0001).tanh()  # two op nodes per round: * and tanh
        return out

    def memory_per_node(n: int) -> float:
        root = chain(n)
        tracemalloc.start()
        trace = trace_backward(root)
        memory = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(trace) == n + 1  # the seed, then one step per op node
        return memory / n

    small = min(memory_per_node(1_000) for _ in range(2))
    large = min(memory_per_node(10_000) for _ in range(2))
    assert large / small < 2.0


# ---- plots -------------------------------------------------------------------------------------


def test_plot_history_writes_a_png(tmp_path: Path) -> None:
    history = {
        "loss": [1.0, 0.5, 0.2],
        "accuracy": [0.5, 0.8, 1.0],
        "val_loss": [1.1, 0.7, 0.4],
        "val_accuracy": [0.4, 0.7, 0.9],
    }
    figure = plot_history(history, tmp_path / "history.png")
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]
    assert len(figure.axes[0].lines) == 2 and len(figure.axes[1].lines) == 2
    assert (tmp_path / "history.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="loss"):
        plot_history({})


@pytest.mark.parametrize("batched", [False, True])
def test_decision_boundary_for_both_paths(tmp_path: Path, batched: bool) -> None:
    X, y = nn.data.make_moons(40, noise=0.1, seed=0)
    scalar = nn.MLP(2, [8, 1], seed=0)
    model = nn.batch.MLP.from_scalar(scalar) if batched else scalar
    figure = plot_decision_boundary(model, X, y * 2 - 1, tmp_path / "boundary.png", resolution=30)
    assert figure.axes[0].get_title() == "decision boundary"
    assert (tmp_path / "boundary.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"2-D points, got X of shape \(40, 3\)"):
        plot_decision_boundary(model, np.ones((40, 3)), y)


def test_a_constant_array_is_named_by_what_it_holds() -> None:
    """One value repeated (a seed broadcast by a recorded backward pass) is named by that value;
    other arrays by their first numbers, never by the first one alone as if it were all."""
    x = Tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    root = (x * np.array([5.0, 6.0, 7.0, 8.0]) + np.array([2.0, 2.0, 2.0, 2.0])).sum()
    root = root + (x[:0] * np.zeros(0)).sum()
    names = Picture(root).names
    assert "[5 6 7 ...]" in names and "2" in names and "[]" in names


@pytest.mark.parametrize(
    "label",
    ["x" * 20_000, "a\x00b\x1b[31mc\x07", "half \ud800 a pair", "tab\there\nnewline"],
    ids=["20 KB", "control characters", "a lone surrogate", "tab and newline"],
)
def test_any_label_draws_and_the_panel_keeps_it_whole(label: str) -> None:
    """Labels once broke Graphviz with a raw CalledProcessError or UnicodeEncodeError (issue
    25): a picture draws them cleaned and cut to a few dozen characters; the step's text keeps
    the label as it is."""
    from visualize.picture import DRAWN_CHARS, drawn

    x = Value(2.0, label)
    out = x * x
    svg = draw_graph(out).pipe(format="svg").decode()
    texts = [html.unescape(t) for t in re.findall(r">([^<]*)</text>", svg)]
    assert texts and max(map(len, texts)) <= 200
    assert all(ch.isprintable() for t in texts for ch in t)
    name = html.unescape(drawn(label))
    assert name in texts and len(name) <= DRAWN_CHARS and name[:1] == label[:1]
    assert label in trace_backward(out).text(1)  # the panel: the whole label
