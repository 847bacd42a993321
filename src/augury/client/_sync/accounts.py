# generated from _async/accounts.py by scripts/unasync.py; do not edit
"""Accounts and API keys: registering, logging in and out, the keys of an account."""

from __future__ import annotations

from collections.abc import Sequence

from augury.client import _base as b
from augury.client import _models as m
from augury.client._sync.base import Core


class AccountMethods(Core):
    """The client's methods for accounts and API keys."""

    def register(self, username: str, password: str) -> m.User:
        """Create a trader account (with the operator's starting grant)."""
        body = {"username": username, "password": password}
        return self._call(self._req("register", body=body), m.User)

    def login(self, username: str, password: str) -> m.Login:
        """Start a session: the cookie is kept and the CSRF header sent from now on."""
        body = {"username": username, "password": password}
        login = self._call(self._req("login", body=body), m.Login)
        self._http.headers["X-CSRF-Token"] = login.csrf_token
        return login

    def logout(self) -> None:
        b.check(self._send(self._req("logout")))
        self._http.headers.pop("X-CSRF-Token", None)
        self._http.cookies.clear()

    def me(self) -> m.Me:
        return self._call(self._req("me"), m.Me)

    def change_password(self, current_password: str, new_password: str) -> None:
        """Needs the session (not an API key); every other session ends."""
        body = {"current_password": current_password, "new_password": new_password}
        b.check(self._send(self._req("change_password", body=body)))

    def create_api_key(
        self, name: str, scopes: Sequence[str] = ("read",), public_key: str | None = None
    ) -> m.ApiKeyCreated:
        """A new key; its ``key`` is shown this once. With ``public_key`` (PEM, RSA or
        Ed25519), requests signed by its private half are this key's (docs/kalshi.md)."""
        body: dict[str, object] = {"name": name, "scopes": list(scopes)}
        if public_key is not None:
            body["public_key"] = public_key
        return self._call(self._req("create_api_key", body=body), m.ApiKeyCreated)

    def list_api_keys(self) -> list[m.ApiKey]:
        return (self._call(self._req("list_api_keys"), m.ApiKeyList)).items

    def revoke_api_key(self, key_id: str) -> None:
        b.check(self._send(self._req("revoke_api_key", path={"key_id": key_id})))
