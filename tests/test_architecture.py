"""The house's import graph, read with `ast` from the sources: no circle among modules, and no import running
back up a layer: the library, then the toy world built on it, then the benchmark built on both, then the front
ends (the CLI and the app)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "coloredit"
FRONT_ENDS = ("coloredit.cli", "coloredit.app", "coloredit.__main__")  # the CLI a package of subcommands
LAYERS = ("coloredit.toy", "coloredit.bench")  # above the library, in this order


def module_name(path: Path) -> str:
    parts = ["coloredit", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports, at the top or inside a function (a lazy import is one too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target != "coloredit":
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def layer(module: str) -> int:
    if module.startswith(FRONT_ENDS):
        return 1 + len(LAYERS)
    return next((1 + i for i, prefix in enumerate(LAYERS) if module.startswith(prefix)), 0)


def test_the_graph_is_read_from_the_sources():
    edges = graph()
    assert "coloredit.devices" in edges["coloredit.cli.loading"]
    assert "coloredit.cli.edit" in edges["coloredit.cli.main"]
    assert "coloredit.joint" in edges["coloredit.pipeline"] and "coloredit.recoloring" in edges["coloredit.joint"]
    assert len(edges) > 40


def test_no_module_imports_a_layer_above_its_own():
    upward = [(a, b) for a, targets in graph().items() for b in targets if layer(b) > layer(a)]
    assert upward == []


def test_no_circle_among_modules():
    edges = graph()
    circles, state = [], {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert circles == []


MAX_MODULE_LINES = 400  # a room one can read in a sitting
MAX_FUNCTION_LINES = 80  # a function one can hold in one's head


def test_no_module_or_function_is_too_long_to_read():
    long_modules, long_functions = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(module_name(path))
        for node in ast.walk(ast.parse(text)):
            function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            if function and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                long_functions.append(f"{module_name(path)}.{node.name}")
    assert (long_modules, long_functions) == ([], [])
