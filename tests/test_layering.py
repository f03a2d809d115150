"""services/ owns the rules and must not depend on a web framework."""

import ast
import subprocess
import sys
from pathlib import Path

SERVICES = Path(__file__).resolve().parent.parent / "arbibase_chat" / "services"
FORBIDDEN = ("reflex", "fastapi", "starlette")


def test_services_source_imports_no_web_framework():
    offenders = []
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_every_service_loads_no_web_framework():
    modules = sorted(p.stem for p in SERVICES.glob("*.py") if p.stem != "__init__")
    code = (
        "import sys\n"
        + "".join(f"import arbibase_chat.services.{m}\n" for m in modules)
        + f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=SERVICES.parents[1],
    )
    assert out.stdout.strip() == "[]"
