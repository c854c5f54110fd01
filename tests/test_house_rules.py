"""The rules that keep the house livable, as tests (docs/design.md, "Rooms").

- ``kernels/`` never imports ``fastnn`` (data flow one way), only itself;
- every public kernel has a NumPy twin with the same signature, the loops generated per
  layout included;
- no module takes another room's ``_private`` names;
- no import circle between fastnn's modules (lazy imports inside functions included);
- no module over 800 lines, no class over 400.
"""

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

from fastnn import codegen, kernels
from fastnn.kernels import codes, reference
from fastnn.network import Architecture

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 800
MAX_CLASS_LINES = 400


def module_name(path):
    """The import name of a source file of the repository (kernels/ is fastnn.kernels)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "kernels":
        parts = ["fastnn", *parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


SOURCES = {
    module_name(path): path
    for folder in ("fastnn", "kernels")
    for path in sorted((ROOT / folder).rglob("*.py"))
}


def room(module):
    """A module's room: ``fastnn.sweep.plan`` lives in ``sweep``, ``fastnn.model`` in ``model``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports(module):
    """``(node, imported module, imported names)`` of every runtime import in ``module``.

    Imports under ``if TYPE_CHECKING:`` are left out (they never run); those inside
    functions are kept (a lazy import is still an import).
    """
    path = SOURCES[module]
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def visit(node, type_checking):
        for child in ast.iter_child_nodes(node):
            guarded = type_checking or (
                isinstance(node, ast.If)
                and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"
                and child in node.body
            )
            visit(child, guarded)
        if type_checking:
            return
        if isinstance(node, ast.Import):
            found.extend((node, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            found.append((node, base, [alias.name for alias in node.names]))

    visit(tree, False)
    return found


def test_the_kernels_never_import_fastnn():
    for module, path in SOURCES.items():
        if room(module) != "kernels":
            continue
        for _, imported, _ in imports(module):
            if imported.startswith("fastnn"):
                assert imported.startswith("fastnn.kernels"), f"{path}: imports {imported}"


def _python_function(kernel):
    """The Python function behind a kernel: a dispatcher's ``py_func``, or the kernel
    itself where it is a Python dispatcher choosing among compiled variants
    (``train_epoch_sample`` picks its loop by the optimizer and dropout)."""
    return getattr(kernel, "py_func", kernel)


def _parameters(function):
    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize("name", kernels.KERNEL_NAMES)
def test_every_kernel_has_a_twin_of_the_same_signature(name):
    kernel = _python_function(getattr(kernels, name))
    assert _parameters(kernel) == _parameters(getattr(reference, name)), name


def test_every_kernel_a_kernel_module_exports_has_a_twin():
    """Modules of kernels beyond KERNEL_NAMES (the estimators', say) list theirs in __all__."""
    checked = 0
    for module in SOURCES:
        if room(module) != "kernels" or module.endswith(("reference", "codes", "bundles")):
            continue
        loaded = __import__(module, fromlist=["__all__"])
        for name in getattr(loaded, "__all__", ()):
            compiled = getattr(loaded, name)
            if not hasattr(compiled, "py_func"):
                continue  # a constant or a Python helper, not a kernel
            assert hasattr(reference, name), f"{module}.{name} has no twin in kernels/reference.py"
            assert _parameters(compiled.py_func) == _parameters(getattr(reference, name)), name
            checked += 1
    assert checked >= len(kernels.KERNEL_NAMES)


@pytest.mark.parametrize("optimizer", [codes.SGD, codes.ADAM])
def test_the_generated_loops_have_the_twins_signatures(optimizer):
    architecture = Architecture.checked([6, 5, 3], dtype="float64")
    hyper = np.zeros(codes.HYPER_SIZE)
    hyper[codes.LR] = 0.01
    loop = codegen.sample_loop(
        kernels,
        architecture.sizes,
        architecture.layout,
        architecture.loss_code,
        architecture.dtype,
        optimizer,
        hyper,
        specialise=True,
        backend="numba",
        n_rows=1,
        dropout=architecture.dropout,
    )
    assert loop.spec is not None
    assert _parameters(loop.train_epoch.py_func) == _parameters(reference.train_epoch_sample)
    assert _parameters(loop.train_models.py_func) == _parameters(reference.train_models_sample)


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_takes_another_rooms_private_names():
    offences = []
    for module, path in SOURCES.items():
        if room(module) == "kernels":
            continue  # one room; checked by the rule above
        aliases = {}  # local name -> the fastnn module it is bound to
        for node, imported, names in imports(module):
            if not imported.startswith("fastnn"):
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("fastnn") and alias.asname:
                        aliases[alias.asname] = alias.name
                continue
            for alias in node.names:
                target = f"{imported}.{alias.name}"
                local = alias.asname or alias.name
                if target in SOURCES:
                    aliases[local] = target
                elif _private(alias.name) and room(imported) != room(module):
                    offences.append(f"{path.name}:{node.lineno} imports {target}")
            for name in names:
                target = f"{imported}.{name}"
                if _private(name) and target in SOURCES and room(target) != room(module):
                    offences.append(f"{path.name}:{node.lineno} imports the private {target}")
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _private(node.attr)
                and room(aliases[node.value.id]) != room(module)
            ):
                offences.append(
                    f"{path.name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}"
                )
    assert not offences, offences


def _import_graph():
    graph = {}
    for module in SOURCES:
        targets = set()
        for _, imported, names in imports(module):
            if not imported.startswith("fastnn"):
                continue
            for name in names or [None]:
                target = f"{imported}.{name}" if name else imported
                targets.add(target if target in SOURCES else imported)
        graph[module] = {target for target in targets if target in SOURCES and target != module}
    return graph


def find_circles(graph):
    """The groups of modules that import each other, in a circle (Tarjan's algorithm)."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    return circles


def test_no_import_circle():
    assert not find_circles(_import_graph())


def test_the_circle_check_finds_circles():
    assert find_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = _import_graph()
    assert "fastnn.model" in graph["fastnn"]  # the graph holds the package's own imports
    graph["fastnn.model"].add("fastnn")
    assert find_circles(graph)


def test_no_module_or_class_is_too_big():
    too_big = []
    for module, path in SOURCES.items():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_big.append(f"{module}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    too_big.append(f"{module}.{node.name}: {lines} lines")
    assert not too_big, too_big
