"""services/ owns the rules and must not depend on a web framework; neither do adapters/.

Each test also checks that it looked at what it is about: a glob that finds nothing, or a
subprocess that imports nothing, must fail, not pass.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "arbibase_chat"
SERVICES = PACKAGE / "services"
ADAPTERS = PACKAGE / "adapters"
FORBIDDEN = ("reflex", "fastapi", "starlette")

# Modules the checks must see (a rename that drops one of them from the scan fails here).
MUST_SEE = {
    "services/accounts.py",
    "services/identity.py",
    "services/tokens.py",
    "services/messages.py",
    "services/threads.py",
    "services/policy.py",
    "services/ratelimit.py",
    "services/_tx.py",
    "services/events.py",
    "services/errors.py",
    "adapters/__init__.py",
    "adapters/auth.py",
    "adapters/storage.py",
}
MIN_SERVICES = 12
MIN_FILES = MIN_SERVICES + 4


def _imported_names(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_services_and_adapters_source_import_no_web_framework():
    paths = sorted([*SERVICES.rglob("*.py"), *ADAPTERS.rglob("*.py")])
    seen = {str(p.relative_to(PACKAGE)) for p in paths}
    assert len(paths) >= MIN_FILES, f"only {len(paths)} files found under {PACKAGE}"
    assert seen >= MUST_SEE, f"not scanned: {sorted(MUST_SEE - seen)}"
    offenders = []
    imports = 0
    for path in paths:
        names = _imported_names(path)
        imports += len(names)
        offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
    assert imports >= 5 * len(paths), "the scan found too few imports to have read the files"


def test_the_source_scan_catches_a_web_framework_import(tmp_path: Path):
    (tmp_path / "bad.py").write_text(
        "import os\nfrom fastapi import Depends\nimport reflex as rx\n"
    )
    names = _imported_names(tmp_path / "bad.py")
    assert [n for n in names if n.split(".")[0] in FORBIDDEN] == ["fastapi", "reflex"]


def test_the_backend_is_chosen_in_adapters_only():
    """Local or Supabase is decided by `supabase_config()` inside adapters/ (`get_auth()`,
    `get_storage()`); everything else asks the chosen backend."""
    users = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "supabase_config" in path.read_text()
    )
    assert "adapters/__init__.py" in users and len(users) >= 3
    assert [u for u in users if not u.startswith("adapters/")] == []


def test_importing_every_service_loads_no_web_framework():
    modules = sorted(p.stem for p in SERVICES.glob("*.py") if p.stem != "__init__")
    assert len(modules) >= MIN_SERVICES, f"only {len(modules)} service modules found"
    code = (
        "import json, sys\n"
        + "".join(f"import arbibase_chat.services.{m}\n" for m in modules)
        + "print(json.dumps({"
        + f"'web': sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}), "
        + "'services': sorted(m for m in sys.modules if m.startswith('arbibase_chat.services.'))"
        + "}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    )
    found = json.loads(out.stdout)
    assert found["web"] == []
    assert {f"arbibase_chat.services.{m}" for m in modules} <= set(found["services"])
