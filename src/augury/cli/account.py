"""Account commands: ``augury register``, ``login``, ``logout``, ``whoami`` and ``keys``.

``augury login`` opens a session with the password, creates an API key for this machine,
closes the session and stores the key (``augury.cli.credentials``: 0600, one entry per
server URL); every API command then uses it unless ``--api-key`` or ``AUGURY_API_KEY``
says otherwise. The password is never stored. ``augury keys`` manages keys with the
password (a key cannot create keys unless it has the admin scope).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from augury.cli import credentials
from augury.cli._common import (
    EXIT_ERROR,
    URL_DEFAULT,
    ApiKey,
    CliError,
    JsonOut,
    Url,
    _err,
    _guard,
    _print_json,
    _sdk,
    _when,
    app,
    stored_key,
)

if TYPE_CHECKING:
    from augury.client import Client

SCOPE_NAMES = ("read", "trade", "admin")
DEFAULT_SCOPES = ("read", "trade")
PASSWORD_BYTES_MAX = 1_024

Username = Annotated[
    str | None,
    typer.Option(
        "--username", "-u", help="Default: asked for (or the stored login's).", show_default=False
    ),
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]
Scopes = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        metavar="read|trade|admin",
        help="A scope of the key (repeat it); default read and trade.",
        show_default=False,
    ),
]

keys_app = typer.Typer(help="Create, list and revoke my API keys (asks for the password).")
app.add_typer(keys_app, name="keys")


def _scopes(given: list[str] | None) -> tuple[str, ...]:
    scopes = tuple(dict.fromkeys(given or DEFAULT_SCOPES))
    bad = [s for s in scopes if s not in SCOPE_NAMES]
    if bad:
        raise CliError(f"--scope must be read, trade or admin, not {bad[0]!r}")
    return scopes


def _username(given: str | None, url: str) -> str:
    if given:
        return given
    try:
        stored = credentials.load(url)
    except credentials.CredentialsError:
        stored = None
    if stored is not None:
        return stored.username
    if not sys.stdin.isatty():
        raise CliError("give --username (stdin is not a terminal to ask on)")
    return str(typer.prompt("Username"))


def _password(from_stdin: bool, *, confirm: bool = False) -> str:
    if from_stdin:
        line = sys.stdin.readline(PASSWORD_BYTES_MAX + 1).rstrip("\r\n")
        if not line:
            raise CliError("--password-stdin: stdin gave no password")
        if len(line) > PASSWORD_BYTES_MAX:
            raise CliError(f"--password-stdin: a password is at most {PASSWORD_BYTES_MAX} chars")
        return line
    if not sys.stdin.isatty():
        raise CliError("give --password-stdin (stdin is not a terminal to ask on)")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


@contextmanager
def _session(url: str, username: str, password: str) -> Iterator[Client]:
    """A client logged in with a session (cookie + CSRF), logged out afterwards."""
    with _sdk(url, None, stored=False) as client:
        client.login(username, password)
        try:
            yield client
        finally:
            with suppress(Exception):  # the session expires by itself; the outcome stands
                client.logout()


def _keys_session(
    url: str, username: str | None, password_stdin: bool
) -> AbstractContextManager[Client]:
    """A session for managing keys: the given (or the stored login's) user, with the
    password asked for (or read from stdin)."""
    return _session(url, _username(username, url), _password(password_stdin))


def _login(
    url: str, username: str, password: str, scopes: tuple[str, ...], name: str
) -> dict[str, object]:
    """Create and store a key for ``username`` on ``url``; revoke the one it replaces."""
    previous = credentials.load(url)
    with _session(url, username, password) as client:
        created = client.create_api_key(name, scopes)
        stored = credentials.Stored(
            url=url,
            username=username,
            key=created.key,
            key_id=created.id,
            prefix=created.prefix,
            scopes=tuple(created.scopes),
        )
        where = credentials.save(stored)
        replaced = None
        if previous is not None and previous.username == username:
            try:  # the machine's old key: one CLI login, one live key
                client.revoke_api_key(previous.key_id)
                replaced = previous.key_id
            except Exception:
                replaced = None  # revoked already, or another user's server state
    return {
        "ok": True,
        "url": credentials.server_key(url),
        "username": username,
        "key_id": created.id,
        "prefix": created.prefix,
        "scopes": list(created.scopes),
        "stored_in": str(where),
        "replaced_key_id": replaced,
    }


def _say_logged_in(result: dict[str, object]) -> None:
    scopes = ", ".join(str(s) for s in result["scopes"])  # type: ignore[attr-defined]
    print(f"logged in to {result['url']} as {result['username']}: API key {result['prefix']}... "
          f"(id {result['key_id']}, scopes {scopes}) stored in {result['stored_in']}")  # fmt: skip


def _key_name() -> str:
    return f"augury CLI on {socket.gethostname()}"[:64]


@app.command()
def login(
    username: Username = None,
    password_stdin: PasswordStdin = False,
    scope: Scopes = None,
    key_name: Annotated[
        str | None, typer.Option("--key-name", help="Default: 'augury CLI on HOST'.")
    ] = None,
    url: Url = URL_DEFAULT,
    json_out: JsonOut = False,
) -> None:
    """Log in: create an API key for this machine and store it (0600) for later commands."""
    with _guard("login", json_out):
        scopes = _scopes(scope)
        user = _username(username, url)
        result = _login(url, user, _password(password_stdin), scopes, key_name or _key_name())
        if json_out:
            _print_json(result)
        else:
            _say_logged_in(result)


@app.command()
def register(
    username: Username = None,
    password_stdin: PasswordStdin = False,
    scope: Scopes = None,
    no_login: Annotated[
        bool, typer.Option("--no-login", help="Only create the account; store no key.")
    ] = False,
    url: Url = URL_DEFAULT,
    json_out: JsonOut = False,
) -> None:
    """Create a trader account (with the operator's starting grant), then log in."""
    with _guard("register", json_out):
        scopes = _scopes(scope)
        if not username:
            if not sys.stdin.isatty():
                raise CliError("give --username (stdin is not a terminal to ask on)")
            username = str(typer.prompt("Username"))
        password = _password(password_stdin, confirm=True)
        with _sdk(url, None, stored=False) as client:
            user = client.register(username, password)
        result: dict[str, object] = {"ok": True, "username": user.username, "account": user.account}
        if not no_login:
            result["login"] = _login(url, user.username, password, scopes, _key_name())
        if json_out:
            _print_json(result)
            return
        print(f"registered {user.username} (account {user.account}) on {url}")
        if not no_login:
            _say_logged_in(result["login"])  # type: ignore[arg-type]


@app.command()
def logout(url: Url = URL_DEFAULT, json_out: JsonOut = False) -> None:
    """Revoke the stored API key on the server and remove it from this machine."""
    with _guard("logout", json_out):
        try:
            stored = credentials.load(url)
        except credentials.CredentialsError:
            stored = None
            credentials.path().unlink(missing_ok=True)  # unsafe: never used, so gone
        if stored is None:
            if json_out:
                _print_json(
                    {"ok": True, "url": credentials.server_key(url), "was_logged_in": False}
                )
            else:
                print(f"not logged in to {credentials.server_key(url)}")
            return
        problem = None
        try:
            with _sdk(url, stored.key, stored=False) as client:
                client.revoke_api_key(stored.key_id)
        except CliError as exc:
            problem = str(exc)
        credentials.forget(url)
        result = {
            "ok": problem is None,
            "url": stored.url,
            "was_logged_in": True,
            "revoked_key_id": None if problem else stored.key_id,
            "error": problem,
        }
        if json_out:
            _print_json(result)
        else:
            print(f"logged out of {stored.url}: the key {stored.prefix}... is gone from "
                  f"{credentials.path()}")  # fmt: skip
        if problem is not None:
            _err(f"augury logout: error: the key {stored.key_id} could not be revoked on the "
                 f"server ({problem}); revoke it with augury keys revoke {stored.key_id} or on "
                 "the web UI's API keys page")  # fmt: skip
            raise typer.Exit(EXIT_ERROR)


@app.command()
def whoami(url: Url = URL_DEFAULT, api_key: ApiKey = None, json_out: JsonOut = False) -> None:
    """Who the API key (given, or stored by augury login) belongs to, and its scopes."""
    with _guard("whoami", json_out):
        origin = "--api-key or AUGURY_API_KEY" if api_key else str(credentials.path())
        if not (api_key or stored_key(url)):
            raise CliError(f"not logged in to {credentials.server_key(url)}: run augury login")
        with _sdk(url, api_key) as client:
            me = client.me()
        if json_out:
            _print_json({**me.to_dict(), "key_from": origin})
            return
        print(f"{me.username} (account {me.account}, roles {', '.join(me.roles)}) "
              f"on {credentials.server_key(url)}, by {me.authenticated_by} with scopes "
              f"{', '.join(me.scopes)} (key from {origin})")  # fmt: skip


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    scope: Scopes = None,
    username: Username = None,
    password_stdin: PasswordStdin = False,
    url: Url = URL_DEFAULT,
    json_out: JsonOut = False,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="A PEM public key (RSA or Ed25519) for Kalshi-style signed requests "
            "(docs/kalshi.md): the key's id is the KALSHI-ACCESS-KEY.",
        ),
    ] = None,
) -> None:
    """Create an API key; the key is printed this once (it is not stored)."""
    with _guard("keys create", json_out):
        scopes = _scopes(scope)
        pem = None if public_key is None else public_key.read_text()
        with _keys_session(url, username, password_stdin) as client:
            created = client.create_api_key(name, scopes, pem)
        if json_out:
            _print_json(created.to_dict())
            return
        print(f"API key {created.id} ({created.name}, scopes {', '.join(created.scopes)}):")
        print(created.key)
        print("it is shown this once: keep it now")
        if created.key_type:
            print(f"signed requests ({created.key_type}): KALSHI-ACCESS-KEY {created.id}")


@keys_app.command("list")
def keys_list(
    username: Username = None,
    password_stdin: PasswordStdin = False,
    url: Url = URL_DEFAULT,
    json_out: JsonOut = False,
) -> None:
    """My API keys (live and revoked)."""
    with _guard("keys list", json_out):
        with _keys_session(url, username, password_stdin) as client:
            keys = client.list_api_keys()
        if json_out:
            _print_json({"items": [k.to_dict() for k in keys]})
            return
        for k in keys:
            state = f"revoked {_when(k.revoked_at)}" if k.revoked_at else "live"
            print(f"{k.id}  {k.prefix}...  {state:<8}  {','.join(k.scopes):<16} {k.name}")
        if not keys:
            print("no API keys")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID")],
    username: Username = None,
    password_stdin: PasswordStdin = False,
    url: Url = URL_DEFAULT,
    json_out: JsonOut = False,
) -> None:
    """Revoke one of my API keys (by its id, as keys list shows it)."""
    with _guard("keys revoke", json_out):
        with _keys_session(url, username, password_stdin) as client:
            client.revoke_api_key(key_id)
        stored = credentials.load(url)
        if stored is not None and stored.key_id == key_id:
            credentials.forget(url)  # the stored login used that key: it is gone now
        if json_out:
            _print_json({"ok": True, "revoked_key_id": key_id})
        else:
            print(f"revoked API key {key_id}")
