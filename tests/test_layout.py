"""The package's shape, as the structure issue fixed it: small modules, one owner of the
standard streams, nothing that rewrites the process environment."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "valohai_cli_lite"
SOURCES = sorted(PACKAGE.rglob("*.py"))
# The one owner of the streams, the console-script entry, and dev-only tools.
STREAM_OWNERS = {"terminal/iostreams.py", "launcher.py", "emulator/demo.py"}


def test_the_package_is_found() -> None:
    assert len(SOURCES) > 30 and PACKAGE / "terminal" / "iostreams.py" in SOURCES


def test_the_top_level_holds_at_most_12_modules() -> None:
    # Modules are grouped by purpose (auth, client, commands, kinds, output, terminal); the
    # top level keeps the entry points and what every layer shares.
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(flat) <= 12, flat


def _imports(path: Path) -> set[str]:
    """The package's modules that `path` imports, wherever the import is (a function, a
    TYPE_CHECKING block): a circle through a lazy import is still a circle."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    module = module.removesuffix(".__init__")
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES
                          else target)  # fmt: skip
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return (found & MODULES) - {module}


MODULES = {
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in SOURCES
}


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for path in SOURCES:
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        graph[module.removesuffix(".__init__")] = _imports(path)
    done: set[str] = set()

    def walk(module: str, trail: list[str]) -> None:
        if module in trail:
            raise AssertionError(" -> ".join([*trail[trail.index(module) :], module]))
        if module in done:
            return
        for imported in sorted(graph[module]):
            walk(imported, [*trail, module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])
    assert graph["valohai_cli_lite.output.table"]  # the check sees the imports it looks for


def _attribute_chains(tree: ast.AST) -> set[str]:
    """Every dotted name in the code (`sys.stdout.write` -> 'sys.stdout.write')."""
    chains = set()
    for node in ast.walk(tree):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if parts and isinstance(node, ast.Name):
            chains.add(".".join([node.id, *reversed(parts)]))
    return chains


def test_only_the_stream_owners_touch_the_standard_streams() -> None:
    streams = ("sys.stdin", "sys.stdout", "sys.stderr", "sys.__stdin__", "sys.__stdout__",
               "sys.__stderr__")  # fmt: skip
    touching = set()
    for path in SOURCES:
        chains = _attribute_chains(ast.parse(path.read_text(encoding="utf-8")))
        if any(c == s or c.startswith(s + ".") for c in chains for s in streams):
            touching.add(str(path.relative_to(PACKAGE)))
    assert touching <= STREAM_OWNERS, touching - STREAM_OWNERS
    assert "terminal/iostreams.py" in touching  # the check sees what it looks for


def _mutated(node: ast.AST) -> list[ast.expr]:
    """What `node` changes in place: `x[k] = ...`, `del x[k]`, `x.update(...)` -> x."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign | ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign):
        targets = [node.target]
    changed = [t.value for t in targets if isinstance(t, ast.Subscript)]
    in_place = ("update", "setdefault", "pop", "popitem", "clear")
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (node.func.attr in in_place)
    ):
        changed.append(node.func.value)
    return changed


def test_nothing_writes_the_process_environment() -> None:
    writes = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            calls_putenv = isinstance(node, ast.Call) and ast.unparse(node.func) in (
                "os.putenv",
                "os.unsetenv",
            )
            if calls_putenv or any(ast.unparse(v) == "os.environ" for v in _mutated(node)):
                writes.append(f"{path.relative_to(PACKAGE)}: {ast.unparse(node)[:60]}")
    assert writes == []
