"""terraform/: every file parses, every variable and output is documented, checkov passes."""

import json

from tests.deploy.tools import ROOT, run_tool

TERRAFORM = ROOT / "terraform"
PARSE_ALL = """
import json, pathlib, sys, hcl2
parsed = {}
for path in sorted(pathlib.Path("terraform").rglob("*.tf")):
    with path.open() as handle:
        parsed[str(path)] = hcl2.load(handle)
json.dump(parsed, sys.stdout, default=str)
"""


def attribute(block: dict, name: str):
    """python-hcl2 wraps every attribute value in a one-item list."""
    (value,) = block[name]
    return value


def parsed_terraform() -> dict:
    result = run_tool("python", "-c", PARSE_ALL)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_file_parses_and_every_variable_and_output_is_documented():
    parsed = parsed_terraform()
    assert len(parsed) == len(list(TERRAFORM.rglob("*.tf")))
    undocumented = [
        f"{path}: {kind} {name}"
        for path, document in parsed.items()
        for kind in ("variable", "output")
        for block in document.get(kind, [])
        for name, body in block.items()
        if not attribute(body, "description").strip()
    ]
    assert undocumented == []


def test_modules_and_both_environments_exist():
    modules = {p.name for p in (TERRAFORM / "modules").iterdir()}
    assert modules == {"network", "kms", "eks", "rds", "redis", "msk", "irsa", "stack"}
    for environment in ("dev", "prod"):
        assert (TERRAFORM / "environments" / environment / "main.tf").exists()


def test_production_keeps_what_dev_may_turn_off():
    """The checkov skips in modules/rds and modules/redis rely on prod setting these."""
    (stack,) = [
        block["stack"]
        for block in parsed_terraform()["terraform/environments/prod/main.tf"]["module"]
    ]
    assert attribute(stack, "postgres_multi_az") is True
    assert attribute(stack, "postgres_use_proxy") is True
    assert attribute(stack, "deletion_protection") is True
    assert attribute(stack, "redis_replicas") >= 1
    assert attribute(stack, "single_nat_gateway") is False
    assert len(attribute(stack, "availability_zones")) == 3


def test_msk_clients_speak_tls_and_authenticate_with_iam():
    """What the app's KAFKA_SECURITY_PROTOCOL=SASL_SSL and KAFKA_SASL_MECHANISM=OAUTHBEARER meet."""
    msk = parsed_terraform()["terraform/modules/msk/main.tf"]
    (cluster,) = [block["aws_msk_cluster"]["this"] for block in msk["resource"] if "aws_msk_cluster" in block]
    (encryption,) = attribute(cluster, "encryption_info")["encryption_in_transit"]
    assert attribute(encryption, "client_broker") == "TLS"
    authentication = attribute(cluster, "client_authentication")
    assert attribute(authentication, "unauthenticated") is False
    assert attribute(attribute(authentication, "sasl"), "iam") is True
    (ingress,) = [block["aws_vpc_security_group_ingress_rule"]["kafka"] for block in msk["resource"]
                  if "aws_vpc_security_group_ingress_rule" in block]
    assert "9098" in attribute(ingress, "for_each") and "9092" not in attribute(ingress, "for_each")
    assert "CKV_AWS_81" not in (TERRAFORM / "modules" / "msk" / "main.tf").read_text()


def test_checkov_passes():
    result = run_tool(
        "checkov", "--directory", "terraform", "--framework", "terraform", "--compact", "--quiet",
        "--skip-download", "--output", "json",
    )
    report = json.loads(result.stdout)
    assert report["summary"]["failed"] == 0, result.stdout
    assert report["summary"]["passed"] > 100
    assert result.returncode == 0
