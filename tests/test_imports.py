"""No import cycle between the modules of arbibase_chat/.

The graph is read from the source with `ast`: the imports that run when a module is imported
(module level, also inside `if` / `try` / `with` blocks and class bodies), not those inside
functions and not those under `if TYPE_CHECKING:`. `import a.b` and `from a import b` name
the module `a.b` when it is one, else `a`. The implicit import of a package's `__init__` when
one of its modules is imported is not an edge (it would make every package that re-exports a
module of its own a "cycle", which runs fine); an explicit `from pkg import name` is.

Cycles are the strongly connected components of more than one module (Tarjan), plus modules
that import themselves. Two checks: between modules, and between the parts of the app
(`arbibase_chat.pages`, `.realtime`, `.services`, `.adapters`, `.api`, `.components`, each
top-level module on its own): `pages` importing `realtime.hub` while `realtime.delivery`
imports `pages.inbox` is no cycle of modules, but the two packages depend on each other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "arbibase_chat"

# --- the graph ------------------------------------------------------------------------------


def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package at `root`, by dotted name (a package is its __init__)."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: Iterable[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements executed when the module body runs."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue  # runs when called, not when imported
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_statements(node.body)
            yield from _import_time_statements(node.orelse)
        elif isinstance(node, ast.Try | ast.TryStar):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _import_time_statements(block)
            for handler in node.handlers:
                yield from _import_time_statements(handler.body)
        elif isinstance(node, ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.While):
            yield from _import_time_statements(node.body)
            yield from _import_time_statements(getattr(node, "orelse", []))
        elif isinstance(node, ast.ClassDef):
            yield from _import_time_statements(node.body)
        elif isinstance(node, ast.Match):
            for case in node.cases:
                yield from _import_time_statements(case.body)


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]
) -> set[str]:
    if isinstance(node, ast.Import):
        prefixes = (_known_prefix(alias.name, known) for alias in node.names)
        return {prefix for prefix in prefixes if prefix is not None}
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    found: set[str] = set()
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        if sub in known:
            found.add(sub)
        elif source in known:
            found.add(source)
    return found


def _known_prefix(name: str, known: set[str]) -> str | None:
    parts = name.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def import_graph(root: Path) -> dict[str, set[str]]:
    """module → the package's modules it imports at import time."""
    modules = module_names(root)
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in _import_time_statements(tree.body):
            edges |= _targets(node, name, is_package, known)
        graph[name] = edges
    return graph


# --- the cycles -----------------------------------------------------------------------------


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative: no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = []
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        work.append((start, iter(sorted(graph.get(start, ())))))
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other (directly or around a loop)."""
    return sorted(
        component
        for component in strongly_connected(graph)
        if len(component) > 1 or component[0] in graph.get(component[0], ())
    )


def part_of(module: str) -> str:
    """The part of the app a module is in: `root.x` for `root.x` and everything under it."""
    return ".".join(module.split(".")[:2])


def part_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph folded onto the parts of the app."""
    parts: dict[str, set[str]] = {}
    for module, edges in graph.items():
        parts.setdefault(part_of(module), set()).update(
            part_of(target) for target in edges if part_of(target) != part_of(module)
        )
    return parts


def describe(graph: dict[str, set[str]], cycle: list[str]) -> str:
    members = set(cycle)
    edges = [f"  {a} -> {b}" for a in cycle for b in sorted(graph[a] & members)]
    return "cycle: " + ", ".join(cycle) + "\n" + "\n".join(edges)


# --- the tests ------------------------------------------------------------------------------

PAGES_REALTIME = ["arbibase_chat.pages", "arbibase_chat.realtime"]


def test_the_graph_covers_the_package():
    graph = import_graph(PACKAGE)
    assert len(graph) >= 50, f"only {len(graph)} modules found under {PACKAGE}"
    for module in (
        "arbibase_chat.arbibase_chat",
        "arbibase_chat.services.identity",
        "arbibase_chat.adapters.auth",
        "arbibase_chat.api.deps",
        "arbibase_chat.session",
    ):
        assert module in graph
    assert sum(len(edges) for edges in graph.values()) >= 2 * len(graph)
    # Resolution: `from arbibase_chat.services import accounts` is the module accounts;
    # `from arbibase_chat.adapters import supabase_config` is the package adapters.
    assert "arbibase_chat.services.accounts" in graph["arbibase_chat.services.identity"]
    assert "arbibase_chat.adapters" in graph["arbibase_chat.adapters.storage"]
    # `if TYPE_CHECKING:` and function-level imports are not edges.
    assert "arbibase_chat.adapters.supabase_storage" not in graph["arbibase_chat.adapters.storage"]


def test_no_import_cycle_in_arbibase_chat():
    graph = import_graph(PACKAGE)
    cycles = import_cycles(graph)
    assert cycles == [], "\n".join(describe(graph, cycle) for cycle in cycles)


def test_no_import_cycle_between_the_parts_of_arbibase_chat():
    modules = import_graph(PACKAGE)
    graph = part_graph(modules)
    assert {"arbibase_chat.services", "arbibase_chat.adapters", "arbibase_chat.pages"} <= set(graph)
    cycles = import_cycles(graph)
    detail = []
    for cycle in cycles:
        detail.append(describe(graph, cycle))
        detail += [
            f"    {a} -> {b}"
            for a in sorted(modules)
            for b in sorted(modules[a])
            if part_of(a) in cycle and part_of(b) in cycle and part_of(a) != part_of(b)
        ]
    assert cycles == [], "\n".join(detail)


# --- the cycle finder on a package made for it ----------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "pkg"


def test_a_cycle_made_on_purpose_is_found(tmp_path: Path):
    pkg = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "import pkg.sub.c\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from ..a import thing\n",  # relative: pkg.a, a name in it
            "pkg/d.py": "from pkg.d import x\n",  # imports itself
            "pkg/e.py": "import pkg.a\n",  # into the cycle, not part of it
        },
    )
    graph = import_graph(pkg)
    assert graph["pkg.sub.c"] == {"pkg.a"}
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"], ["pkg.d"]]
    message = describe(graph, ["pkg.a", "pkg.b", "pkg.sub.c"])
    assert "pkg.a -> pkg.b" in message and "pkg.sub.c -> pkg.a" in message


def test_a_cycle_between_packages_is_found(tmp_path: Path):
    pkg = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/pages/__init__.py": "",
            "pkg/pages/inbox.py": "from pkg.realtime.hub import hub\n",
            "pkg/realtime/__init__.py": "",
            "pkg/realtime/hub.py": "import pkg.config\n",
            "pkg/realtime/delivery.py": "from pkg.pages import inbox\n",
            "pkg/config.py": "",
        },
    )
    graph = import_graph(pkg)
    assert import_cycles(graph) == []  # no module imports itself back...
    parts = part_graph(graph)
    assert parts["pkg.realtime"] == {"pkg.pages", "pkg.config"}
    assert import_cycles(parts) == [["pkg.pages", "pkg.realtime"]]  # ...but the packages do


def test_deferred_imports_make_no_cycle(tmp_path: Path):
    pkg = _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import A\n",  # a package re-exporting its module
            "pkg/a.py": (
                "from typing import TYPE_CHECKING\n"
                "import typing\n"
                "if TYPE_CHECKING:\n    from pkg import b\n"
                "if typing.TYPE_CHECKING:\n    import pkg.c\n"
                "else:\n    import pkg.d\n"
                "def f():\n    from pkg import b\n"
                "class A:\n    async def g(self):\n        import pkg.c\n"
            ),
            "pkg/b.py": "from pkg.a import A\n",
            "pkg/c.py": "import pkg.a\n",
            "pkg/d.py": "import os\n",
        },
    )
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.d"}
    assert graph["pkg"] == {"pkg.a"}
    assert import_cycles(graph) == []


def test_import_time_blocks_count(tmp_path: Path):
    pkg = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "try:\n    import pkg.b\nexcept ImportError:\n    pass\n",
            "pkg/b.py": "class B:\n    from pkg import a\n",
        },
    )
    assert import_cycles(import_graph(pkg)) == [["pkg.a", "pkg.b"]]


def test_tarjan_on_a_long_chain():
    n = 5000  # deeper than the recursion limit
    graph = {str(i): {str(i + 1)} for i in range(n)}
    graph[str(n)] = {"0"}
    assert [len(c) for c in import_cycles(graph)] == [n + 1]
    graph[str(n)] = set()
    assert import_cycles(graph) == []
