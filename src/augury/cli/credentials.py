"""Where the CLI keeps the API key that ``augury login`` made: one file per user, 0600.

The file is ``credentials.json`` in the user's config directory (``$AUGURY_CONFIG_DIR``,
else ``$XDG_CONFIG_HOME/augury``, else ``~/.config/augury``), holding one entry per
server URL. It is written atomically (a temporary file created with mode 0600, then
renamed), the directory is created 0700, and a file that others can read is refused
rather than used, as ssh does with a private key.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FILE_NAME = "credentials.json"
FILE_BYTES_MAX = 1_000_000  # a credentials file is a few hundred bytes per server


class CredentialsError(Exception):
    """The credentials file is unsafe or unreadable (the message says how to fix it)."""


@dataclass(frozen=True)
class Stored:
    """The API key ``augury login`` created for one server."""

    url: str
    username: str
    key: str
    key_id: str
    prefix: str
    scopes: tuple[str, ...]


def config_dir(env: dict[str, str] | None = None) -> Path:
    """The user's Augury config directory (not created here)."""
    env = dict(os.environ) if env is None else env
    if env.get("AUGURY_CONFIG_DIR"):
        return Path(env["AUGURY_CONFIG_DIR"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "augury"


def server_key(url: str) -> str:
    """The entry's name for a server URL: no trailing slash, scheme and host lower-case."""
    url = url.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def path() -> Path:
    return config_dir() / FILE_NAME


def _read_all() -> dict[str, Any]:
    file = path()
    try:
        info = file.stat()
    except FileNotFoundError:
        return {}
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(
            f"{file} can be read by other users (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run chmod 600 {file} or augury logout"
        )
    if info.st_size > FILE_BYTES_MAX:
        raise CredentialsError(f"{file} is larger than {FILE_BYTES_MAX} bytes; remove it")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CredentialsError(
            f"{file} is unreadable ({exc}); remove it and log in again"
        ) from None
    servers = data.get("servers") if isinstance(data, dict) else None
    return servers if isinstance(servers, dict) else {}


def _write_all(servers: dict[str, Any]) -> None:
    file = path()
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = file.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask or an older file of that name said
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"servers": servers}, out, indent=2, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, file)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load(url: str) -> Stored | None:
    """The key stored for ``url``, if any."""
    entry = _read_all().get(server_key(url))
    if not isinstance(entry, dict):
        return None
    try:
        return Stored(
            url=server_key(url),
            username=str(entry["username"]),
            key=str(entry["key"]),
            key_id=str(entry["key_id"]),
            prefix=str(entry["prefix"]),
            scopes=tuple(str(s) for s in entry["scopes"]),
        )
    except (KeyError, TypeError):
        return None


def save(stored: Stored) -> Path:
    """Store (or replace) the key of ``stored.url``; returns the file's path."""
    servers = _read_all()
    entry = asdict(stored)
    entry["scopes"] = list(stored.scopes)
    servers[server_key(stored.url)] = entry
    _write_all(servers)
    return path()


def forget(url: str) -> bool:
    """Remove the key of ``url``; False if there was none."""
    servers = _read_all()
    if servers.pop(server_key(url), None) is None:
        return False
    _write_all(servers)
    return True
