"""The package's shape, kept by tests: no import cycles (deferred imports included), modules sized
by concept, no eval/exec, and the process settings in one module (docs/architecture.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mmnet"
MAX_LINES = 400


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(package: Path = PACKAGE) -> dict[str, Path]:
    return {_module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of import nodes under ``if TYPE_CHECKING:`` (never run)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            skip |= {id(n) for n in ast.walk(node)}
    return skip


def _import_lines(name: str, path: Path, modules: dict[str, Path]) -> dict[str, list[int]]:
    """The package's modules that ``name`` imports anywhere in its body (functions included), each with the line
    numbers of its imports."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, list[int]] = {}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from pkg import sub` imports the submodule when there is one, else a name of pkg.
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem for a in node.names]
        else:
            continue
        for t in targets:
            if t in modules and t != name and node.lineno not in found.setdefault(t, []):
                found[t].append(node.lineno)
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The mmnet modules that ``name`` imports anywhere in its body (functions included)."""
    return set(_import_lines(name, path, modules))


def _cycle_through(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One shortest import cycle through the component's first module: [a, b, ..., a]."""
    start, inside = component[0], set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & inside):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    raise AssertionError(f"{component} is no cycle")


def _cycle_report(package: Path = PACKAGE) -> str:
    """Each import cycle as the import lines (file:line) that close it; empty when there is none."""
    modules = _modules(package)
    lines = {name: _import_lines(name, path, modules) for name, path in modules.items()}
    graph = {name: set(targets) for name, targets in lines.items()}
    out = []
    for component in _cycles(graph):
        cycle = _cycle_through(component, graph)
        out.append(f"import cycle among {', '.join(component)}; break one of these imports:")
        for a, b in zip(cycle, cycle[1:]):
            where = modules[a].relative_to(package.parent)
            out += [f"  {where}:{n} imports {b}" for n in lines[a][b]]
    return "\n".join(out)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_even_deferred():
    report = _cycle_report()
    assert not report, "\n" + report


def test_a_cycle_is_reported_with_the_import_lines_that_close_it(tmp_path):
    # the failure printed only the modules of the cycle, not which of their imports to break
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text('"""a"""\n\nfrom . import b\n')
    (package / "b.py").write_text('"""b"""\n\n\ndef late():\n    from .a import x\n    return x\n')
    (package / "c.py").write_text("from .a import y\n")
    assert _cycle_report(package).splitlines() == [
        "import cycle among pkg.a, pkg.b; break one of these imports:",
        "  pkg/a.py:3 imports pkg.b",
        "  pkg/b.py:5 imports pkg.a",
    ]


def test_cycle_finder_sees_a_deferred_import(tmp_path):
    graph = {"a": {"b"}, "b": {"a"}, "c": set()}
    assert _cycles(graph) == [["a", "b"]]


@pytest.mark.parametrize("name", sorted(_modules()))
def test_module_size(name):
    lines = len(_modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it where its concepts part"


def test_no_eval_or_exec():
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("eval", "exec"):
                raise AssertionError(f"{name} line {node.lineno} calls {node.func.id}")


def test_machine_probing_lives_in_runtime():
    """The model, the data and the loops receive decisions; only mmnet.runtime probes the machine."""
    probes = ("/proc/cpuinfo", "get_cpu_capability", "mallopt", "LD_PRELOAD", "_nnpack_available", "set_flush_denormal")
    for name, path in _modules().items():
        if name == "mmnet.runtime":
            continue
        text = path.read_text()
        assert not [p for p in probes if p in text], f"{name} probes the machine; move it to mmnet.runtime"


def test_browser_tests_do_not_poll_with_wait_for_function():
    """Playwright's wait_for_function evals its expression inside the page on every poll after the first, which
    mmnet's Content-Security-Policy refuses: such a browser test passes or fails with timing.
    tests/browser_helpers.wait_until is the way (its docstring says why)."""
    tests = Path(__file__).parent
    users = [p.name for p in sorted(tests.glob("test_*.py")) if p.name != Path(__file__).name
             and "wait_for_function(" in p.read_text(encoding="utf-8")]
    assert users == []
