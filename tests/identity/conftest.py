"""The identity stores' tests use the API tests' empty database on each backend."""

from tests.api.conftest import empty_database  # noqa: F401  (a fixture)
