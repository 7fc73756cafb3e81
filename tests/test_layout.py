"""The shape of the house: adlab never imports streamlit; requirements are pinned; CI runs the README's command."""

import ast
import re
from pathlib import Path

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


def test_every_page_is_in_the_navigation_and_has_an_apptest():
    app = (ROOT / "app.py").read_text()
    pages = sorted(p.stem for p in (ROOT / "pages").glob("*.py") if not p.stem.startswith("_"))
    tests = "".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    for page in pages:
        assert f'"pages/{page}.py"' in app, page
        if page == "home":  # app.py's default page: tests/test_app.py runs it through app.py
            continue
        assert f"pages/{page}.py" in tests or f'"{page}"' in tests, page
