"""The package's layers, read from the source: data flows one way and no module imports in a circle.

Every ``import`` the interpreter can run counts, at module level or inside a function (a deferred
import still makes the lower module depend on the higher one); imports under ``if TYPE_CHECKING:``
are annotations only and do not. The layers are the README's "Layout" table, lowest first: a module
may import its own layer and the layers below it, never one above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "orqmagic"

# Lowest first. A name is a module or a package prefix; the longest prefix wins.
LAYERS: list[tuple[str, ...]] = [
    ("orqmagic._version", "orqmagic.errors", "orqmagic.sandbox"),
    ("orqmagic.config",),
    ("orqmagic.clients",),
    ("orqmagic.store",),
    ("orqmagic.render",),
    ("orqmagic.result",),
    ("orqmagic.evaluation",),
    ("orqmagic.frames",),
    ("orqmagic.api",),
    ("orqmagic.widgets",),
    ("orqmagic.magics", "orqmagic.execute"),
    ("orqmagic",),
]
STANDALONE = "orqmagic.sandbox"  # the emulator imports nothing of the client package: it stands in for the services


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(path: Path) -> set[str]:
    """The orqmagic modules ``path`` imports at run time (absolute names)."""
    tree = ast.parse(path.read_text())
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    here = module_name(path).split(".")
    package = here if is_package(path) else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "orqmagic")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "orqmagic":
                continue
            if node.module is None or (node.level and not node.module):
                # "from . import x": each name may be a submodule
                found.update(f"{target}.{alias.name}" for alias in node.names)
            else:
                found.add(target)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def resolve(name: str) -> str | None:
    """The module a dotted import lands in (``orqmagic.clients.OrqClient`` -> ``orqmagic.clients``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> dict[str, set[str]]:
    edges = {}
    for name, path in MODULES.items():
        edges[name] = {t for t in (resolve(i) for i in imports_of(path)) if t and t != name}
    return edges


def layer_of(name: str) -> int:
    best, best_len = None, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    assert best is not None, f"{name} is in no layer: add it to LAYERS and the README's Layout table"
    return best


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        layer_of(name)


def test_no_module_imports_a_higher_layer() -> None:
    upward = []
    for source, targets in graph().items():
        for target in targets:
            if target.startswith(source + ".") or source.startswith(target + "."):
                continue  # a package and its own modules
            if layer_of(target) > layer_of(source):
                upward.append(f"{source} -> {target}")
    assert not upward, "imports against the flow of data:\n" + "\n".join(sorted(upward))


def test_the_sandbox_stands_alone() -> None:
    outside = [f"{s} -> {t}" for s, ts in graph().items() if s.startswith(STANDALONE)
               for t in ts if not t.startswith(STANDALONE)]
    assert not outside, "\n".join(outside)


def test_no_import_circles() -> None:
    edges = graph()
    # Package __init__ files that only re-export their own modules are not part of a circle.
    for name in edges:
        if is_package(MODULES[name]):
            edges[name] = {t for t in edges[name] if not t.startswith(name + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("package", sorted(n for n, p in MODULES.items() if is_package(p)))
def test_every_package_says_what_it_owns_and_may_import(package: str) -> None:
    doc = ast.get_docstring(ast.parse(MODULES[package].read_text())) or ""
    assert len(doc) > 80, f"{package}/__init__.py needs a docstring saying what it owns"
    if package != "orqmagic":
        assert "import" in doc.lower(), f"{package}/__init__.py must say what it may import"
