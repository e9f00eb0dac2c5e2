"""ansible/: every playbook passes --syntax-check and the whole tree passes ansible-lint."""

import pytest

from tests.deploy.tools import ROOT, run_tool

ANSIBLE = ROOT / "ansible"
PLAYBOOKS = sorted(p.name for p in (ANSIBLE / "playbooks").glob("*.yml"))


def test_every_operation_has_a_playbook_backed_by_a_role():
    operations = {"deploy", "migrate", "scale", "rollback", "backup", "healthcheck"}
    assert {name.removesuffix(".yml") for name in PLAYBOOKS} == operations
    assert {p.name for p in (ANSIBLE / "roles").iterdir()} == operations
    for operation in operations:
        assert (ANSIBLE / "roles" / operation / "tasks" / "main.yml").exists()


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_passes_syntax_check(playbook):
    result = run_tool("ansible-playbook", "--syntax-check", f"playbooks/{playbook}", cwd=ANSIBLE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ansible_lint_passes_with_the_production_profile():
    result = run_tool("ansible-lint", "--profile=production", "--offline", cwd=ANSIBLE)
    assert result.returncode == 0, result.stdout + result.stderr
