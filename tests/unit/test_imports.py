"""Guards on the package's shape: the config imports no role, and the import graph has no cycle.

The graph counts every import statement in ``spo/``, including deferred ones inside functions and
those under ``TYPE_CHECKING``: deferring an import hides a cycle, it does not remove it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "spo"
HEAVY = ("torch", "ray", "deepspeed", "transformers", "vllm", "pyarrow", "numpy")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The spo modules that ``path`` imports anywhere in its body (``from a import b`` may name module a.b)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != me:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: imported_modules(p, set(files)) for m, p in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), plus self-loops."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
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
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 50 and "spo.runner" in graph and "spo.config" in graph["spo.runner"]
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_deferred_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    source = PACKAGE / "config.py"
    assert "spo.plugins" in imported_modules(source, set(import_graph()))


PROBE = "import json, sys; import spo.config; print(json.dumps(sorted(sys.modules)))"
ROLE_PACKAGES = (
    "assets",
    "buffer",
    "cluster",
    "data",
    "eval",
    "learner",
    "pipeline",
    "reward",
    "rollout",
    "sync",
    "tracking",
)
LEAVES = {"spo", "spo.config", "spo.errors", "spo.registry", "spo.plugins", "spo.paths"}


def test_importing_the_config_imports_no_role_and_no_heavy_library():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}, sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    spo = {m for m in loaded if m.split(".")[0] == "spo"}
    # only the leaves, the role packages' (docstring-only) __init__ and their torch-free config modules
    allowed = LEAVES | {f"spo.{p}" for p in ROLE_PACKAGES} | {f"spo.{p}.config" for p in ROLE_PACKAGES}
    assert spo - allowed == set(), f"spo.config pulled in role modules: {sorted(spo - allowed)}"
    assert "spo.learner.config" in spo and "spo.runner" not in spo
