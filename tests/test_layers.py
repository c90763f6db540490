"""The architecture, tested: layers import one way, no module import circle (function-body
imports included), the core stays free of heavy dependencies, and functions stay short."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "entropy_rl"

# layer → the layers it may import (besides itself)
ALLOWED = {
    "files": set(),
    "core": {"files"},
    "config": {"core", "files"},
    "scoring": {"files"},
    "tasks": {"scoring", "config", "files"},
    "models": {"core", "config", "scoring", "tasks", "files"},
    "train": {"core", "config", "scoring", "tasks", "models", "analysis", "files"},
    "analysis": {"core", "files"},
    "integrations": {"core", "files"},
    "cli": {"core", "config", "scoring", "tasks", "models", "train", "analysis", "files"},
}


def _module_name(path: Path) -> str:
    parts = ("entropy_rl", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every entropy_rl module ``path`` imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("entropy_rl")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("entropy_rl"):
            assert node.level == 0, f"{path}: relative import"
            for a in node.names:  # `from entropy_rl.core import losses` imports a module
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in MODULES else node.module)
    return out


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}
GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "entropy_rl"


def test_every_module_belongs_to_a_known_layer():
    assert {_layer(m) for m in MODULES} - {"entropy_rl"} == set(ALLOWED)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module):
    layer = _layer(module)
    if layer == "entropy_rl":
        assert not GRAPH[module], "the package root imports nothing"
        return
    bad = sorted(m for m in GRAPH[module] if _layer(m) not in ALLOWED[layer] | {layer})
    assert not bad, f"{module} ({layer}) may not import {bad}"


def test_no_import_circle():
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(GRAPH.get(m, ())):
            if n not in MODULES:
                continue
            if state.get(n) == 1:
                raise AssertionError("import circle: " + " -> ".join([*path[path.index(n) :], n]))
            if n not in state:
                visit(n, [*path, n])
        state[m] = 2

    for m in sorted(MODULES):
        if m not in state:
            visit(m, [m])


def test_the_layer_check_catches_a_circle():
    # the checker itself: a graph with a circle must fail
    saved = dict(GRAPH)
    try:
        GRAPH["entropy_rl.core.law"] = {"entropy_rl.core.metrics"}
        GRAPH["entropy_rl.core.metrics"] = {"entropy_rl.core.law"}
        with pytest.raises(AssertionError, match="import circle"):
            test_no_import_circle()
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


HEAVY = ["transformers", "pydantic", "typer", "yaml", "matplotlib", "reasoning_gym", "trl", "verl"]


def test_core_imports_no_heavy_dependency():
    core = sorted(m for m in MODULES if _layer(m) == "core")
    code = (
        "import importlib, json, sys\n"
        f"for m in {core!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(h for h in {HEAVY!r} if h in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_analysis_and_the_light_commands_import_no_training_dependency():
    # `fit`, `report` and `bandit` must work on the base install (numpy, scipy, matplotlib, typer)
    code = (
        "import json, sys\n"
        "import entropy_rl.cli, entropy_rl.analysis.report, entropy_rl.analysis.plots\n"
        "print(json.dumps(sorted(h for h in ['transformers', 'pydantic', 'yaml', 'reasoning_gym', "
        "'safetensors'] if h in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > 100:
                    long.append(f"{path.relative_to(SRC)}:{node.name} ({n} lines)")
    assert not long, long
