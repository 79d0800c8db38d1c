"""`paths_to` and `draw_paths`: a gradient as the sum over every path from the output to a node of
the product of the local gradients along it (the course notes' reading of the chain rule),
checked against the backward pass on hand examples and on random graphs of every scalar op."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_cases import SCALAR, Case, away_from_kinks

from autograd_core import Tensor, Value
from visualize.paths import draw_paths, paths_to


def svg_text(dot: Any) -> str:
    """The rendered picture's text, entities decoded (`<-` is `&lt;-` in SVG)."""
    return html.unescape(dot.pipe(format="svg").decode())


def close(a: float | None, b: float) -> bool:
    """Equal up to rounding (None, a total never summed, equals nothing)."""
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# ---- the notes' network: two neurons feeding two neurons, a squared error ----------------------


def two_layers() -> dict[str, Value]:
    """Layer l's pre-activations z1, z2 (inputs here), their activations y1, y2, and layer l+1's
    z1' = y1 w11 + y2 w21 + b1 and z2' = y1 w12 + y2 w22 + b2 (w_jk joins y_j to z_k'), then
    L = (tanh z1' - t1)^2 + (tanh z2' - t2)^2. dL/dw21 has one path, dL/dz2 two (y2 feeds both
    neurons of layer l+1)."""
    v = {name: Value(x, name) for name, x in [("z1", 0.4), ("z2", -0.7)]}
    weights = [("w11", 0.5), ("w21", -1.2), ("w12", 0.8), ("w22", 0.3), ("b1", 0.1), ("b2", -0.2)]
    v.update({name: Value(x, name) for name, x in weights})
    v["y1"], v["y2"] = v["z1"].tanh(), v["z2"].tanh()
    v["z1'"] = v["y1"] * v["w11"] + v["y2"] * v["w21"] + v["b1"]
    v["z2'"] = v["y1"] * v["w12"] + v["y2"] * v["w22"] + v["b2"]
    v["y1'"], v["y2'"] = v["z1'"].tanh(), v["z2'"].tanh()
    v["L"] = (v["y1'"] - 0.3) ** 2 + (v["y2'"] - (-0.5)) ** 2
    for name in ("y1", "y2", "z1'", "z2'", "y1'", "y2'", "L"):
        v[name].label = name
    v["L"].backward()
    return v


def test_a_weight_of_the_last_layer_has_one_path() -> None:
    v = two_layers()
    paths = paths_to(v["L"], v["w21"])
    assert paths.count == 1
    (path,) = paths.paths
    y1p, y2 = v["y1'"].data, v["y2"].data
    # dL/dy1' * dy1'/dz1' * dz1'/dw21, the notes' equation (10), with (11): dz1'/dw21 = y2
    expected = 2 * (y1p - 0.3) * (1 - y1p**2) * y2
    assert close(path.product, expected)
    assert close(paths.total, v["w21"].grad) and close(paths.gradient, v["w21"].grad)
    names = paths.names(path)
    assert names[0] == "L" and names[-1] == "w21" and "z1'" in names and "y1'" in names


def test_a_value_feeding_two_neurons_sums_two_paths() -> None:
    v = two_layers()
    paths = paths_to(v["L"], v["z2"])
    assert paths.count == 2
    y1p, y2p, y2 = v["y1'"].data, v["y2'"].data, v["y2"].data
    delta1 = 2 * (y1p - 0.3) * (1 - y1p**2)  # dL/dz1'
    delta2 = 2 * (y2p + 0.5) * (1 - y2p**2)  # dL/dz2'
    local = 1 - y2**2  # dy2/dz2
    # the notes' (20) and (21), one per neuron of layer l+1, and their sum (22)-(25)
    expected = sorted([delta1 * v["w21"].data * local, delta2 * v["w22"].data * local])
    assert all(close(a, b) for a, b in zip(sorted(p.product for p in paths.paths), expected))
    assert close(paths.total, sum(expected)) and close(paths.total, v["z2"].grad)
    via = {"z1'" if "z1'" in paths.names(p) else "z2'" for p in paths.paths}
    assert via == {"z1'", "z2'"}


def test_the_picture_lists_each_path_by_name_with_its_product() -> None:
    w, x, c = Value(3.0, "w"), Value(-2.0, "x"), Value(1.0, "c")
    out = (w * x) * 0.5 + c
    out.backward()
    paths = paths_to(out, w)
    (path,) = paths.paths
    assert paths.describe(path) == "out <- n2 <- n1 <- w: 1 * 0.5 * -2 = -1"
    svg = svg_text(draw_paths(out, w))
    assert "out <- n2 <- n1 <- w: 1 * 0.5 * -2 = -1" in svg
    assert "sum over 1 path = -1 = dout/dw" in svg
    assert "local 0.5" in svg and "local -2" in svg  # the red edges' labels
    assert "#d62728" in svg  # drawn red


def test_parameters_are_named_as_in_every_picture() -> None:
    w, x = Value(3.0), Value(-2.0, "x")
    out = w * x
    paths = paths_to(out, w, parameters={"layers.0.w.1": w})
    assert paths.node_name == "L0.w1" and paths.names(paths.paths[0]) == ["out", "L0.w1"]


def test_x_times_x_is_two_paths_one_per_input() -> None:
    x = Value(3.0, "x")
    y = x * x
    y.backward()
    paths = paths_to(y, x)
    assert paths.count == 2
    assert [p.edges[0].position for p in paths.paths] == [0, 1]
    assert [p.product for p in paths.paths] == [3.0, 3.0]
    assert paths.total == 6.0 == x.grad == paths.gradient
    assert set(paths.edge_sums) == {(0, 1, 0), (0, 1, 1)}
    svg = svg_text(draw_paths(y, x))
    assert "out <- x (input 1 of out): 3 = 3" in svg
    assert "out <- x (input 2 of out): 3 = 3" in svg
    assert "sum over 2 paths = 6 = dout/dx" in svg


def test_two_uses_with_different_local_gradients_each_say_theirs() -> None:
    """max(x, x): the first operand wins the tie, so its edge has local gradient 1, the other 0.
    (`Style.edges` keys an edge by (input, user), so both edges carry both numbers.)"""
    x = Value(2.0, "x")
    y = x.max(x)
    paths = paths_to(y, x)
    assert [p.product for p in paths.paths] == [1.0, 0.0]
    assert "local 1 (input 1), local 0 (input 2)" in svg_text(draw_paths(y, x))


def test_the_output_itself_is_one_empty_path() -> None:
    out = Value(2.0, "a") * Value(4.0, "b")
    paths = paths_to(out, out)
    assert paths.count == 1 and paths.paths[0].edges == () and paths.gradient == 1.0


def test_a_stale_grad_is_mentioned_beside_the_paths_gradient() -> None:
    w, x = Value(3.0, "w"), Value(-2.0, "x")
    out = w * x
    out.backward()
    out.backward()  # a leaf's gradient adds up: w.grad is now twice dout/dw
    text = "\n".join(paths_to(out, w).lines())
    assert "sum over 1 path = -2 = dout/dw; w.grad holds -4" in text


# ---- many paths: counted, never enumerated --------------------------------------------------


def diamonds(n: int) -> tuple[Value, Value]:
    """n diamonds in a chain, x -> tanh(x) + x * 0.5: two paths through each, 2**n in all."""
    x0 = x = Value(0.3, "x0")
    for _ in range(n):
        x = x.tanh() + x * 0.5
    return x0, x


def test_many_paths_are_counted_and_the_picture_says_how_many() -> None:
    x0, out = diamonds(14)
    out.backward()
    paths = paths_to(out, x0)
    assert paths.count == 2**14 and not paths.enumerated
    assert paths.paths == [] and paths.total is None
    assert close(paths.gradient, x0.grad)
    assert len(paths.edge_sums) == 14 * 4  # per diamond: x into tanh and *, both into +
    svg = svg_text(draw_paths(out, x0))
    assert "16384 paths (more than the limit 1000): each highlighted edge is labelled" in svg
    assert "carries " in svg and "local " not in svg
    assert f"dout/dx0 = {x0.grad:.4g}" in svg


def test_two_to_the_sixty_paths_are_counted_exactly() -> None:
    x0, out = diamonds(60)
    out.backward()
    paths = paths_to(out, x0)
    assert paths.count == 2**60
    assert close(paths.gradient, x0.grad)


def test_enumeration_follows_the_limit() -> None:
    x0, out = diamonds(3)
    out.backward()
    assert len(paths_to(out, x0, limit=8).paths) == 8
    over = paths_to(out, x0, limit=7)
    assert over.count == 8 and over.paths == [] and close(over.gradient, x0.grad)


def test_a_graph_too_big_to_draw_node_by_node_is_refused_in_one_line() -> None:
    x0 = x = Value(0.1, "x0")
    for _ in range(300):
        x = x.tanh()
    assert len(paths_to(x, x0).paths) == 1  # counted and enumerated all the same
    with pytest.raises(ValueError, match="this graph has 301") as error:
        draw_paths(x, x0)
    assert "\n" not in str(error.value) and "smaller graph" in str(error.value)


# ---- no path, wrong node, wrong path ----------------------------------------------------------


def test_a_node_root_does_not_use_has_no_path_and_gradient_zero() -> None:
    a, b = Value(2.0, "a"), Value(5.0, "b")
    out = a * b
    sibling = a + 1.0
    sibling.label = "s"
    paths = paths_to(out, sibling)
    assert (paths.count, paths.gradient, paths.paths) == (0, 0.0, [])
    assert "out does not depend on s" in paths.message and "dout/ds = 0" in paths.message
    later = out * 2.0
    later.label = "later"
    assert "later is computed from out" in paths_to(out, later).message
    assert "out does not depend on s" in svg_text(draw_paths(out, sibling))


def test_a_node_outside_the_graph_is_a_value_error_naming_it() -> None:
    out = Value(2.0, "a") * Value(5.0, "b")
    with pytest.raises(ValueError, match="'stray' is not in the graph of out"):
        paths_to(out, Value(1.0, "stray"))
    with pytest.raises(TypeError, match="needs Values"):
        paths_to(out, 2.0)  # type: ignore[arg-type]


def test_a_tensor_is_refused_pointing_at_trace_backward() -> None:
    t = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (t * t).sum()
    with pytest.raises(TypeError, match=r"vector-Jacobian product.*trace_backward"):
        paths_to(loss, t)
    with pytest.raises(TypeError, match="scalar local gradients"):
        draw_paths(loss, t)


# ---- random graphs of every scalar op: the paths add up to the backward pass -----------------

DEFAULT_DOMAIN = Case.__dataclass_fields__["domain"].default


def takes(case: Case, xs: list[float]) -> bool:
    """Whether the case's op is defined (and away from its kinks) at these inputs; a case with
    the default domain takes any number."""
    low, high = case.domain
    inside = case.domain == DEFAULT_DOMAIN or all(low + 1e-3 <= x <= high - 1e-3 for x in xs)
    return inside and away_from_kinks(case, xs)


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[Value], Value]:
    """A random DAG: each step applies one scalar op of the one list to earlier results (the same
    one several times, often: reuse makes several paths); a step the op cannot take is skipped."""
    results = [
        Value(draw(st.floats(-2.0, 2.0, allow_nan=False)), f"x{k}")
        for k in range(draw(st.integers(1, 3)))
    ]
    for _ in range(draw(st.integers(1, 10))):
        case = draw(st.sampled_from(SCALAR))
        args = [results[draw(st.integers(0, len(results) - 1))] for _ in range(case.arity)]
        if not takes(case, [a.data for a in args]):
            continue
        assert case.on_values is not None
        out = case.on_values(*args)
        if abs(out.data) < 1e6:
            results.append(out)
    root = results[-1] + results[-2] if len(results) > 1 else results[0] * results[0]
    return results, root


def brute_count(root: Value, node: Value) -> int:
    """The paths counted by walking them (small graphs only): one per input edge, recursively."""
    return 1 if root is node else sum(brute_count(p, node) for p in root.parents)


@settings(max_examples=80)
@given(graphs())
def test_paths_add_up_to_the_backward_pass(graph: tuple[list[Value], Value]) -> None:
    nodes, root = graph
    root.backward()
    ancestors = _ancestors(root)
    for node in [*nodes, root]:
        if id(node) not in ancestors:  # a result the output does not use
            if ancestors.keys() & _ancestors(node).keys():
                assert paths_to(root, node).count == 0
            else:
                with pytest.raises(ValueError, match="not in the graph"):
                    paths_to(root, node)
            continue
        paths = paths_to(root, node)
        few = paths_to(root, node, limit=2)
        assert paths.count == few.count >= 1
        assert close(paths.gradient, node.grad) and close(few.gradient, node.grad)
        assert few.paths == ([] if few.count > 2 else paths.paths)
        if not paths.enumerated:
            continue
        assert paths.count == brute_count(root, node) == len(paths.paths)
        assert paths.total is not None and close(paths.total, node.grad)
        for path in paths.paths:
            assert path.product == math.prod(e.local_grad for e in path.edges)
            assert path.edges[-1].parent == paths.node if path.edges else node is root


def _ancestors(root: Value) -> dict[int, Value]:
    """Every value `root` is computed from, itself included, by id (walked here, not by the
    engine, so the check does not lean on the code it checks)."""
    seen: dict[int, Value] = {}
    stack = [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen[id(v)] = v
            stack.extend(v.parents)
    return seen
