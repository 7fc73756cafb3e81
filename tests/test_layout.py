"""The shape of the house: adlab never imports streamlit; requirements are pinned; CI runs the README's command."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_library_never_imports_streamlit():
    offenders = [p.relative_to(ROOT) for p in (ROOT / "adlab").rglob("*.py") if "streamlit" in _imports(p)]
    assert offenders == []


def test_requirements_are_pinned_with_the_local_torch():
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", ln) for ln in lines), lines
    assert "torch==2.14.1" in lines and "torchvision==0.29.1" in lines


def test_ci_runs_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(bash scripts/\S+)", readme, flags=re.M)
    assert commands[:2] == ["bash scripts/app.sh", "bash scripts/test.sh"]
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def _pages() -> list[str]:
    return sorted(p.stem for p in (ROOT / "pages").glob("*.py") if not p.stem.startswith("_"))


def test_every_page_is_in_the_navigation():
    """On the lecture path (pages/_steps.py, which app.py lists) or named in app.py beside it."""
    from pages import _steps

    app = (ROOT / "app.py").read_text()
    on_path = {step.page.removesuffix(".py") for step in _steps.STEPS}
    assert [p for p in _pages() if p not in on_path and f'"pages/{p}.py"' not in app] == []
    assert "lecture.STEPS" in app


@pytest.mark.parametrize("page", _pages())
def test_every_page_opens_under_apptest(page):
    """Each page file, run as the server runs it, draws a title and raises nothing (home through app.py,
    its default page); the pages' own tests then train on them."""
    from streamlit.testing.v1 import AppTest

    path = ROOT / ("app.py" if page == "home" else f"pages/{page}.py")
    at = AppTest.from_file(str(path), default_timeout=120).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title, page


# --- the shape the architecture section of the README promises ----------------------------------
MAX_LINES = 470  # "no module outside tests/ and bench/ longer than about 450 lines"


def test_no_module_is_long():
    files = [*(ROOT / "adlab").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _top_level_imports(path: Path, package: str) -> set[str]:
    """Modules of ``package`` that ``path`` imports when it is imported (not inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in tree.body:
        stmts = [node]
        if isinstance(node, ast.Try):  # the pages' "from pages import x / except ImportError: import x"
            stmts = node.body
        for stmt in stmts:
            if isinstance(stmt, ast.Import):
                found.update(a.name for a in stmt.names if a.name.split(".")[0] == package)
            elif isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
                if stmt.module.split(".")[0] == package:
                    found.add(stmt.module)
                    found.update(f"{stmt.module}.{a.name}" for a in stmt.names)
    return found


def _cycles(package: str, files: list[Path]) -> list[list[str]]:
    modules = {_module_name(p): p for p in files}
    graph = {m: sorted(d for d in _top_level_imports(p, package) if d in modules and d != m)
             for m, p in modules.items()}
    cycles, state = [], {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = "open"
        for d in graph[m]:
            if state.get(d) == "open":
                cycles.append([*trail[trail.index(d):], d] if d in trail else [m, d])
            elif d not in state:
                visit(d, [*trail, d])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return cycles


def test_no_import_cycle_in_the_library():
    """A package imports its modules in its ``__init__``; a cycle is a module importing one that
    (directly or not) imports it back, ``__init__`` re-exports aside."""
    files = [p for p in (ROOT / "adlab").rglob("*.py") if p.name != "__init__.py"]
    assert _cycles("adlab", files) == []


def test_no_import_cycle_between_page_helpers():
    files = [p for p in (ROOT / "pages").glob("_*.py")]
    assert _cycles("pages", files) == []
    behind_facade = sorted({m.split(".")[1] for m in _top_level_imports(ROOT / "pages" / "_ui.py", "pages")
                            if m.startswith("pages._") and m != "pages._state"})
    assert len(behind_facade) >= 4
    back = [h for h in behind_facade if "pages._ui" in _top_level_imports(ROOT / "pages" / f"{h}.py", "pages")]
    assert back == [], "a helper behind the facade pages/_ui.py imports the facade"
