"""Structure of the package, read from the source (ast): imports point one way, no import inside a
function dodges a cycle, and the theory modules leave every iterative solve to the engine."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "physlearn"
MODULES = {}  # dotted name -> path
for _p in sorted(PKG.rglob("*.py")):
    _parts = _p.relative_to(PKG.parent).with_suffix("").parts
    MODULES[".".join(_parts[:-1] if _parts[-1] == "__init__" else _parts)] = _p


def _package(name):
    return name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]


def _resolve(module, node):
    """The physlearn modules an import statement of ``module`` loads (submodules when named)."""
    if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
    else:
        if node.level:
            base = _package(module)
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            base = f"{base}.{node.module}" if node.module else base
        else:
            base = node.module or ""
        targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    out = set()
    for t in targets:
        while t and t not in MODULES:  # `import physlearn.theory.gardner.x` style: the longest module prefix
            t = t.rpartition(".")[0]
        if t.startswith("physlearn"):
            out.add(t)
    return out


def _is_deprecation_shim(node, parent):
    """A module-level ``__getattr__`` (PEP 562): it runs only when a user reads a name that moved
    elsewhere, and imports the new home to warn and forward. Such a back-pointer is the price of a
    kept promise, not a dodged cycle, so its imports leave the graph."""
    return isinstance(node, ast.FunctionDef) and node.name == "__getattr__" and isinstance(parent, ast.Module)


def _imports(module):
    """``[(target, inside_a_function, line)]`` for every import in ``module`` (deprecation shims
    excepted: :func:`_is_deprecation_shim`)."""
    tree = ast.parse(MODULES[module].read_text())
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if _is_deprecation_shim(child, node):
                continue
            local = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((t, in_function, child.lineno) for t in _resolve(module, child))
            visit(child, local)

    visit(tree, False)
    return found


def _graph(include_local=True):
    return {m: {t for t, local, _ in _imports(m) if t != m and (include_local or not local)} for m in MODULES}


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan), as sorted lists."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return out


def test_the_graph_is_read_from_the_source():
    g = _graph()
    assert "physlearn.theory.local_entropy._api" in g["physlearn.theory.local_entropy"]
    assert "physlearn.theory.franz_parisi" in g["physlearn.theory.local_entropy._curves"]
    assert "physlearn.solvers" in g["physlearn.theory._gardner_core"]
    # the detector finds a cycle when there is one
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_deprecation_shims_are_the_only_exception():
    shims = [m for m in MODULES if any(_is_deprecation_shim(n, t) for t in [ast.parse(MODULES[m].read_text())]
                                       for n in t.body)]
    assert "physlearn.algorithms.problems" in shims  # problems.Dataset & co. moved to physlearn.datasets
    for m in shims:  # a shim only forwards: it never holds the module's own logic
        tree = ast.parse(MODULES[m].read_text())
        fn = next(n for n in tree.body if _is_deprecation_shim(n, tree))
        assert len(ast.unparse(fn).splitlines()) <= 12, m


def test_no_import_cycle_in_physlearn():
    """Every import counts, also those inside functions: a function-local import that avoided a
    cycle at import time would close one here."""
    assert _cycles(_graph(include_local=True)) == []


@pytest.mark.parametrize("subpackage", ["theory", "solvers"])
def test_no_function_local_import(subpackage):
    local = [f"{m}:{line} -> {t}" for m in MODULES if m.startswith(f"physlearn.{subpackage}")
             for t, inside, line in _imports(m) if inside]
    assert local == []


def test_theory_modules_take_shared_helpers_from_shared_modules():
    """franz_parisi and local_entropy use gardner's public API at most, never its private names."""
    for m in MODULES:
        if not m.startswith(("physlearn.theory.franz_parisi", "physlearn.theory.local_entropy")):
            continue
        tree = ast.parse(MODULES[m].read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("gardner"):
                assert all(not a.name.startswith("_") for a in node.names), f"{m} imports gardner's private names"


_LOOPS = {"while_loop", "fori_loop", "scan"}


def test_theory_keeps_no_private_loop():
    """Iterative solves belong to physlearn.solvers: no theory module runs lax.while_loop /
    fori_loop / scan or calls optimistix itself."""
    offenders = []
    for m, path in MODULES.items():
        if not m.startswith("physlearn.theory"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in _LOOPS:
                offenders.append(f"{m}:{node.lineno} {node.attr}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.startswith("optimistix") for n in names):
                    offenders.append(f"{m}:{node.lineno} imports optimistix")
    assert offenders == []


_LAPACK = {"solve", "cholesky", "cho_solve", "lu_factor", "lu_solve", "inv"}


def test_theory_and_solvers_call_no_batched_lapack_solve():
    """Linear solves in physlearn.theory and physlearn.solvers go through
    ``solvers.dense_solve`` / ``dense_cholesky_solve``: jaxlib's batched LAPACK kernels
    (getrf, potrf, trsm) deadlock on a 2-core CPU when two of them run at once. The only
    LAPACK call left is dense_solve's fallback for systems larger than it unrolls."""
    offenders = []
    for m, path in MODULES.items():
        if not m.startswith(("physlearn.theory", "physlearn.solvers")) or m == "physlearn.solvers._linalg":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in _LAPACK and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "linalg":
                offenders.append(f"{m}:{node.lineno} linalg.{node.attr}")
    assert offenders == []
