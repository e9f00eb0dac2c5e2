"""The project's modules form layers: no import cycle, `config` below the apps, `bench` outside
the product. The graph is read from the source with `ast`, so an import inside a function counts
as much as one at the top: hiding an import in a function hides a cycle, it does not remove it.
(Modules named at run time, by `import_module` or a dotted path in settings, are not import
statements and are not in the graph.) The rule and the layers: docs/architecture.md#layers.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("apps", "config", "grpc_api")
# The wiring's top: what a process starts from (Django's URLconf, the WSGI/ASGI callables, the
# Celery app, gunicorn's configuration). Only these modules of `config` may import the apps.
ENTRY_POINTS = frozenset({"config.urls", "config.wsgi", "config.asgi", "config.celery", "config.gunicorn",
                          "config.gunicorn_local"})


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(*packages: str) -> dict[str, Path]:
    return {module_name(path): path
            for package in packages for path in sorted((ROOT / package).rglob("*.py"))}


def imported_names(name: str, path: Path) -> set[str]:
    """Every module `name` names in an import statement, wherever the statement is."""
    is_package = path.name == "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from package import module`
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules importing it runs: each named module, and the packages above
    it (Python runs a package's `__init__` before any module in it)."""
    graph = {}
    for name, path in modules.items():
        edges = set()
        for imported in imported_names(name, path):
            parts = imported.split(".")
            edges.update(".".join(parts[:depth]) for depth in range(1, len(parts) + 1))
        graph[name] = {edge for edge in edges if edge in modules and edge != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_within(graph, component) for component in components]


def _cycle_within(graph, component: set[str]) -> list[str]:
    """The shortest path from the component's first module back to itself."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node] & component):
                if successor == start:
                    return [*paths[node], start]
                if successor not in paths:
                    paths[successor] = [*paths[node], successor]
                    following.append(successor)
        frontier = following
    raise AssertionError(f"no cycle in {component}")


def reachable(graph: dict[str, set[str]], start: str) -> dict[str, list[str]]:
    """Every module importing `start` runs, each with the chain of imports that gets there."""
    chains = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node]):
                if successor not in chains:
                    chains[successor] = [*chains[node], successor]
                    following.append(successor)
        frontier = following
    return chains


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


PRODUCT_GRAPH = import_graph(project_modules(*PRODUCT))


def test_the_product_has_no_import_cycle():
    found = cycles(PRODUCT_GRAPH)
    # One cycle per knot of modules: breaking it may show another through the same modules.
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_config_below_its_entry_points_imports_no_app():
    """`config` is imported by the apps; only the entry points stand above them."""
    leaving = {
        tuple(chain)
        for name in PRODUCT_GRAPH
        if in_package(name, "config") and name not in ENTRY_POINTS
        for target, chain in reachable(PRODUCT_GRAPH, name).items()
        if not in_package(target, "config") and in_package(chain[-2], "config")  # where it leaves
    }
    # `config.x -> apps.common.registry` also runs `apps` and `apps.common`: name the module only.
    reaching_apps = sorted(" -> ".join(chain) for chain in leaving
                           if not any(other[:-1] == chain[:-1] and in_package(other[-1], chain[-1])
                                      and other != chain for other in leaving))
    assert not reaching_apps, "config imports the apps:\n" + "\n".join(reaching_apps)


def test_no_app_imports_an_entry_point():
    importing = [f"{name} -> {target}" for name, targets in sorted(PRODUCT_GRAPH.items())
                 if name not in ENTRY_POINTS for target in sorted(targets & ENTRY_POINTS)]
    assert not importing, "entry points imported from below:\n" + "\n".join(importing)


def test_the_product_never_imports_bench():
    graph = import_graph(project_modules(*PRODUCT, "bench"))
    importing = [f"{name} -> {target}" for name, targets in sorted(graph.items())
                 if not in_package(name, "bench") for target in sorted(targets)
                 if in_package(target, "bench")]
    assert not importing, "the product imports bench:\n" + "\n".join(importing)


def test_the_graph_sees_imports_inside_functions_and_relative_ones(tmp_path):
    """The reader itself: a cycle made only of a function-level and a relative import is found."""
    package = tmp_path / "package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("def later():\n    from package import second\n")
    (package / "second.py").write_text("from .first import later\n")
    modules = {f"package.{path.stem}" if path.stem != "__init__" else "package": path
               for path in package.glob("*.py")}
    assert cycles(import_graph(modules)) == [["package.first", "package.second", "package.first"]]
