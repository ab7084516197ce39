"""The service tests run in the end-to-end world: its ERP, sandbox and connections."""

from tests.e2e.conftest import (  # noqa: F401 - fixtures
    _secret_key,
    backend,
    erp,
    graph_world,
    online,
    sandbox,
    world,
)
