"""The asynchronous client, one module per part of the API; it is the source that
``scripts/unasync.py`` generates the synchronous client (``augury.client._sync``) from."""

from augury.client._async.client import AsyncClient

__all__ = ["AsyncClient"]
