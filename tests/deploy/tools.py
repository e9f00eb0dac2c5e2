"""The deployment checks run in their own virtualenv (.venv-tools, installed by `make test`)."""

import json
import os
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = ROOT / ".venv-tools" / "bin"


def run_tool(name: str, *args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    executable = TOOLS_BIN / name
    assert executable.exists(), f"{executable} is missing: `make test` installs requirements/tools.txt"
    # The tools call each other (ansible-lint runs ansible-playbook): they must find their own venv.
    env = {**os.environ, "PATH": f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(executable), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


def manifests(mode: str) -> list[dict]:
    return list(yaml.safe_load_all((ROOT / "deploy" / f"{mode}.yaml").read_text()))


def env_of(container: dict) -> dict[str, str]:
    return {item["name"]: item.get("value") for item in container.get("env", [])}


def render_chart(mode: str, values: dict | None = None) -> list[dict]:
    """The chart rendered by Helm's engine for `mode` with `values` over its defaults, as
    `deploy/render.py` renders the committed manifests."""
    code = ("import json, sys; sys.path.insert(0, 'deploy'); import render; "
            "print(json.dumps(render.render_documents(sys.argv[1], json.loads(sys.argv[2]))))")
    result = run_tool("python", "-c", code, mode, json.dumps(values or {}))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def schema_errors(documents: list[dict]) -> list[str]:
    """What deploy/validate.py finds wrong in `documents` (Kubernetes and CRD schemas)."""
    code = ("import json, sys; sys.path.insert(0, 'deploy'); import validate; "
            "print(json.dumps([e for d in json.load(sys.stdin) for e in validate.document_errors(d)]))")
    executable = TOOLS_BIN / "python"
    result = subprocess.run([str(executable), "-c", code], cwd=ROOT, input=json.dumps(documents),
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
