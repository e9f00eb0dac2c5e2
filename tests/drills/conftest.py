# The end-to-end deployments (monolith and split, each started once per session) drive the drills
# that need every process of a real deployment.
from tests.e2e.conftest import deployment, monolith_deployment, split_deployment  # noqa: F401
