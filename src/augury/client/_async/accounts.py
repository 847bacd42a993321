"""Accounts and API keys: registering, logging in and out, the keys of an account."""

from __future__ import annotations

from collections.abc import Sequence

from augury.client import _base as b
from augury.client import _models as m
from augury.client._async.base import Core


class AccountMethods(Core):
    """The client's methods for accounts and API keys."""

    async def register(self, username: str, password: str) -> m.User:
        """Create a trader account (with the operator's starting grant)."""
        body = {"username": username, "password": password}
        return await self._call(self._req("register", body=body), m.User)

    async def login(self, username: str, password: str) -> m.Login:
        """Start a session: the cookie is kept and the CSRF header sent from now on."""
        body = {"username": username, "password": password}
        login = await self._call(self._req("login", body=body), m.Login)
        self._http.headers["X-CSRF-Token"] = login.csrf_token
        return login

    async def logout(self) -> None:
        b.check(await self._send(self._req("logout")))
        self._http.headers.pop("X-CSRF-Token", None)
        self._http.cookies.clear()

    async def me(self) -> m.Me:
        return await self._call(self._req("me"), m.Me)

    async def change_password(self, current_password: str, new_password: str) -> None:
        """Needs the session (not an API key); every other session ends."""
        body = {"current_password": current_password, "new_password": new_password}
        b.check(await self._send(self._req("change_password", body=body)))

    async def create_api_key(
        self, name: str, scopes: Sequence[str] = ("read",), public_key: str | None = None
    ) -> m.ApiKeyCreated:
        """A new key; its ``key`` is shown this once. With ``public_key`` (PEM, RSA or
        Ed25519), requests signed by its private half are this key's (docs/kalshi.md)."""
        body: dict[str, object] = {"name": name, "scopes": list(scopes)}
        if public_key is not None:
            body["public_key"] = public_key
        return await self._call(self._req("create_api_key", body=body), m.ApiKeyCreated)

    async def list_api_keys(self) -> list[m.ApiKey]:
        return (await self._call(self._req("list_api_keys"), m.ApiKeyList)).items

    async def revoke_api_key(self, key_id: str) -> None:
        b.check(await self._send(self._req("revoke_api_key", path={"key_id": key_id})))
