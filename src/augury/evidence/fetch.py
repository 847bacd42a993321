"""A guarded HTTP fetcher for resolution sources (the SSRF boundary of the exchange).

A market creator chooses the URL the exchange will fetch, so every fetch is treated as
hostile: only ``http``/``https``; the host is resolved once and refused if *any* of its
addresses is private, loopback, link-local, multicast, reserved, unspecified (or an IPv6
form embedding such an IPv4 address) unless the host is allow-listed; the connection is
then made to the checked address (the URL is rewritten to the IP, with the original
``Host`` header and TLS server name), so a second DNS answer cannot redirect it
(DNS rebinding); redirects are followed by hand, each hop checked the same way; the body
is streamed and refused past ``max_bytes``; the whole fetch has one deadline.

Failures are values (:class:`Fetched` with ``ok=False`` and a stable ``error_code``),
never exceptions, so the caller can journal them; :func:`public_error` is the form of
their text shown to anyone but an admin (no IP addresses). See docs/evidence.md for the
residual risks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

USER_AGENT = "Augury-evidence/0.1 (resolution fetcher)"
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "etag",
    "last-modified",
    "date",
    "cache-control",
)
"""The response headers kept as evidence, in this order (lower-case names)."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Stable error codes (API: never renamed).
TIMEOUT = "timeout"
TOO_LARGE = "too_large"
HTTP_STATUS = "http_status"
FORBIDDEN_ADDRESS = "forbidden_address"
BAD_SCHEME = "bad_scheme"
BAD_URL = "bad_url"
TOO_MANY_REDIRECTS = "too_many_redirects"
CONNECTION = "connection"
DNS = "dns"


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may do. ``allow_hosts`` lists host names or IP literals (lower-case;
    IPv6 without brackets), or ``host:port`` / ``[v6]:port``, that may resolve to
    private or loopback addresses (fixture servers, an intranet mirror)."""

    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    timeout_s: float = 10
    """The deadline of the whole fetch: DNS, every redirect hop and the body."""
    max_bytes: int = 5_000_000
    max_redirects: int = 3
    user_agent: str = USER_AGENT


class Fetched(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one fetch. A non-2xx answer is ``ok=False`` with error_code
    ``http_status`` but keeps its status, headers and body (evidence of the failure)."""

    ok: bool
    url: str
    """The URL asked for."""
    final_url: str
    """The URL of the last hop (after redirects), with its host name, not the pinned IP."""
    status: int | None
    headers: tuple[tuple[str, str], ...]
    """The :data:`KEPT_HEADERS` the last response had, in that order."""
    body: bytes = b""
    error: str = ""
    error_code: str = ""


class _Refused(Exception):
    """A fetch stopped by a guard or a transport failure (internal control flow)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_V4_FORBIDDEN = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # carrier-grade NAT (shared address space)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local (cloud metadata services)
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_V6_FORBIDDEN = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/127",  # unspecified and loopback
        "::/96",  # IPv4-compatible (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo, ORCHID, ...)
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def address_problem(address: str | IPAddress) -> str | None:
    """Why a connection to ``address`` is refused (e.g. ``"loopback"``), or None when it
    is a public unicast address. IPv6 forms that embed an IPv4 address (IPv4-mapped,
    NAT64, 6to4) are judged by the embedded address; unparsable input is refused."""
    if isinstance(address, str):
        try:
            ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return "not an IP address"
    else:
        ip = address
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))  # drop any %scope
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            problem = address_problem(embedded)
            return None if problem is None else f"{problem} (embedded in {ip})"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return name
    nets: tuple[ipaddress.IPv4Network, ...] | tuple[ipaddress.IPv6Network, ...]
    nets = _V4_FORBIDDEN if isinstance(ip, ipaddress.IPv4Address) else _V6_FORBIDDEN
    for net in nets:
        if ip in net:
            return f"special-purpose ({net})"
    if not ip.is_global:
        return "not global"
    return None


def is_forbidden_address(address: str | IPAddress) -> bool:
    """Whether :func:`address_problem` refuses ``address``."""
    return address_problem(address) is not None


WITHHELD = "[address withheld]"
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*(?:%[0-9A-Za-z_.\-]+)?")


def public_error(message: str) -> str:
    """``message`` as anyone but an admin may read it: every IP address in it (IPv4,
    IPv6 with or without a zone, ``address:port``) replaced by :data:`WITHHELD`.

    A refusal names the address a host resolved to ("'intranet.example' resolves to
    10.0.0.5, a private address"), and a connection error may name the pinned address:
    the layout of the operator's network, which the public has no business seeing. The
    journal keeps the full text (admins read it); this is applied when it is shown. A
    published range (``100.64.0.0/10``) is kept: it says which rule refused."""
    return _ADDRESS_LIKE.sub(_withhold, message)


def _withhold(found: re.Match[str]) -> str:
    text = found.group()
    if found.string.startswith("/", found.end()):
        return text  # a network such as 10.0.0.0/8: a published range, not an address
    candidates = [text, text.rstrip(".:")]
    if text.count(":") == 1:  # an IPv4 address and its port
        candidates.append(text.split(":", 1)[0])
    for candidate in candidates:
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            continue
        return WITHHELD + text[len(candidate) :]
    return text


async def _getaddrinfo(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in resolver order (tests replace this)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        addr = str(sockaddr[0])
        if addr not in out:
            out.append(addr)
    return out


def _allowed(policy: FetchPolicy, host: str, port: int) -> bool:
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return host in policy.allow_hosts or hostport in policy.allow_hosts


async def _pin(url: httpx.URL, policy: FetchPolicy) -> tuple[httpx.URL, dict[str, str], str]:
    """Check the scheme and every address of the host; return the URL rewritten to the
    first checked address, the Host header and the TLS server name to use."""
    if url.scheme not in ("http", "https"):
        raise _Refused(BAD_SCHEME, f"scheme {url.scheme!r} is not http or https")
    host = url.host.lower().rstrip(".")
    if not host:
        raise _Refused(BAD_URL, f"URL {url} has no host")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = await _getaddrinfo(host, port)
    except (OSError, UnicodeError) as exc:
        raise _Refused(DNS, f"cannot resolve {host!r}: {exc}") from exc
    if not addresses:
        raise _Refused(DNS, f"{host!r} resolves to no address")
    if not _allowed(policy, host, port):
        for address in addresses:
            problem = address_problem(address)
            if problem is not None:
                raise _Refused(
                    FORBIDDEN_ADDRESS,
                    f"{host!r} resolves to {address}, a {problem} address (not allow-listed)",
                )
    pinned = addresses[0].split("%", 1)[0]
    netloc = url.netloc.decode("ascii")
    if "@" in netloc:  # user info is not part of Host
        netloc = netloc.rsplit("@", 1)[1]
    return url.copy_with(host=pinned), {"Host": netloc}, host


def _kept(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    return tuple((name, headers[name]) for name in KEPT_HEADERS if name in headers)


async def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _Refused(TOO_LARGE, f"declared length {declared} exceeds {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise _Refused(TOO_LARGE, f"body exceeds {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class _State:
    """What is known about the fetch so far (so a failure can still report it)."""

    def __init__(self, url: str) -> None:
        self.final_url = url
        self.status: int | None = None
        self.headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Send:
    """What a request other than a plain GET sends (a webhook's POST): its method, body
    and extra headers. Redirects are followed only for GET (a POST is not replayed)."""

    method: str = "GET"
    content: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


_GET = Send()


async def _run(
    url: str, policy: FetchPolicy, client: httpx.AsyncClient, state: _State, send: Send = _GET
) -> tuple[bytes, bool]:
    """Fetch with manual redirects; returns (body, whether the status was 2xx)."""
    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _Refused(BAD_URL, f"invalid URL {url!r}: {exc}") from exc
    hops = 0
    while True:
        state.final_url = str(current)
        target, headers, server_name = await _pin(current, policy)
        headers["User-Agent"] = policy.user_agent
        headers["Accept-Encoding"] = "identity"
        headers.update(send.headers)
        extensions: dict[str, Any] = {}
        if current.scheme == "https":
            extensions["sni_hostname"] = server_name
        request = client.build_request(
            send.method, target, headers=headers, extensions=extensions,
            content=send.content if send.method != "GET" else None,
        )  # fmt: skip
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            state.status = response.status_code
            state.headers = _kept(response.headers)
            location = response.headers.get("location")
            if response.status_code in REDIRECT_STATUSES and location:
                if hops >= policy.max_redirects or send.method != "GET":
                    raise _Refused(
                        TOO_MANY_REDIRECTS,
                        f"more than {policy.max_redirects} redirects (last to {location!r})",
                    )
                hops += 1
                try:
                    current = current.join(location)
                except httpx.InvalidURL as exc:
                    raise _Refused(BAD_URL, f"invalid redirect {location!r}: {exc}") from exc
                continue
            body = await _read_body(response, policy.max_bytes)
            return body, response.is_success
        finally:
            await response.aclose()


_tls: list[ssl.SSLContext] = []


async def _tls_context() -> ssl.SSLContext:
    """The TLS settings of every fetch (certifi's CA bundle), loaded once and on a
    thread: loading the bundle takes tens of milliseconds, too long for the event loop."""
    if not _tls:
        _tls.append(await asyncio.to_thread(httpx.create_ssl_context, trust_env=False))
    return _tls[0]


def _client(policy: FetchPolicy, tls: ssl.SSLContext) -> httpx.AsyncClient:
    # No environment proxies (a proxy would resolve the name itself and defeat the
    # address checks) and no keep-alive (a pooled TLS connection to one IP must not be
    # reused for another host name).
    return httpx.AsyncClient(
        verify=tls,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(policy.timeout_s),
        limits=httpx.Limits(max_keepalive_connections=0),
    )


async def fetch(
    url: str,
    *,
    policy: FetchPolicy,
    client: httpx.AsyncClient | None = None,
    send: Send = _GET,
) -> Fetched:
    """GET ``url`` under ``policy``; never raises for network or policy failures.

    A ``client`` may be passed (e.g. one trusting a test CA); it must not use a proxy,
    and it should not keep connections alive across hosts. Redirects are never followed
    by the client, whatever its settings. ``send`` makes it another request (a webhook's
    POST, ``augury.api.webhooks``) under the same guards; it follows no redirect."""
    state = _State(url)

    def failed(code: str, message: str, body: bytes = b"") -> Fetched:
        return Fetched(
            ok=False,
            url=url,
            final_url=state.final_url,
            status=state.status,
            headers=state.headers,
            body=body,
            error=message,
            error_code=code,
        )

    try:
        async with asyncio.timeout(policy.timeout_s):
            if client is None:
                async with _client(policy, await _tls_context()) as own:
                    body, success = await _run(url, policy, own, state, send)
            else:
                body, success = await _run(url, policy, client, state, send)
    except _Refused as exc:
        return failed(exc.code, str(exc))
    except (TimeoutError, httpx.TimeoutException):
        return failed(TIMEOUT, f"no complete answer within {policy.timeout_s} s")
    except httpx.InvalidURL as exc:
        return failed(BAD_URL, f"invalid URL: {exc}")
    except (httpx.TransportError, OSError) as exc:
        return failed(CONNECTION, f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc))
    except httpx.HTTPError as exc:  # decoding errors and the like
        return failed(CONNECTION, f"{type(exc).__name__}: {exc}")
    if not success:
        return failed(HTTP_STATUS, f"HTTP status {state.status}", body)
    return Fetched(
        ok=True,
        url=url,
        final_url=state.final_url,
        status=state.status,
        headers=state.headers,
        body=body,
    )
