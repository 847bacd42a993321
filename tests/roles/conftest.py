"""The roles' tests that need an empty database use the API tests' (each backend)."""

from tests.api.conftest import empty_database  # noqa: F401  (a fixture)
