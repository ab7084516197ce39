"""The service tests run in the end-to-end world: its ERP, sandbox and connections."""

from tests.e2e.conftest import _secret_key, backend, erp, sandbox, world  # noqa: F401 - fixtures
