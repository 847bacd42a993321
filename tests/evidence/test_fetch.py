"""The guarded fetcher against a real local server: SSRF guards, redirects, limits."""

from __future__ import annotations

import socket

import httpx
import pytest

from augury.evidence.fetch import (
    Fetched,
    FetchPolicy,
    address_problem,
    fetch,
    is_forbidden_address,
    public_error,
)

from .conftest import FakeDns, FixtureServer, Tls, free_port, run

LOCAL = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}), timeout_s=5)


# --- the address classifier ---------------------------------------------------------

FORBIDDEN = [
    "127.0.0.1",
    "127.255.0.9",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "0.0.0.0",
    "100.64.0.1",  # carrier-grade NAT
    "192.0.2.10",  # documentation
    "198.18.0.1",  # benchmarking
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:db8::1",  # documentation
    "not an address",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",  # mapped public
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_classifier_refuses_non_public_addresses(address: str) -> None:
    assert is_forbidden_address(address)
    assert address_problem(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_classifier_accepts_public_addresses(address: str) -> None:
    assert address_problem(address) is None


def test_classifier_names_the_reason() -> None:
    assert address_problem("127.0.0.1") == "loopback"
    assert address_problem("169.254.169.254") == "link-local"
    assert address_problem("::ffff:127.0.0.1") == "loopback (embedded in ::ffff:7f00:1)"


# --- success and headers ------------------------------------------------------------


def test_fetches_body_status_and_selected_headers(server: FixtureServer) -> None:
    url = server.set(
        "/a",
        b'{"x": 1}',
        headers={"Content-Type": "application/json", "ETag": '"v1"', "X-Secret": "no"},
    )
    got = run(fetch(url, policy=LOCAL))
    assert got.ok, got.error
    assert (got.status, got.body, got.error_code, got.error) == (200, b'{"x": 1}', "", "")
    assert got.url == got.final_url == url
    names = [name for name, _ in got.headers]
    assert names == ["content-type", "content-length", "etag", "date"]
    assert dict(got.headers)["etag"] == '"v1"'
    path, headers = server.requests[0]
    assert path == "/a"
    assert headers["User-Agent"] == LOCAL.user_agent
    assert headers["Host"] == f"127.0.0.1:{server.port}"


def test_allow_list_entry_with_port(server: FixtureServer) -> None:
    url = server.set("/a", b"ok")
    ok = FetchPolicy(allow_hosts=frozenset({f"127.0.0.1:{server.port}"}))
    other_port = FetchPolicy(allow_hosts=frozenset({f"127.0.0.1:{server.port + 1}"}))
    assert run(fetch(url, policy=ok)).ok
    assert run(fetch(url, policy=other_port)).error_code == "forbidden_address"


def test_passed_client_is_used_left_open_and_never_follows_redirects(
    server: FixtureServer,
) -> None:
    ok_url = server.set("/a", b"ok")
    server.redirect("/r", "http://169.254.169.254/latest/meta-data/")

    async def go() -> tuple[Fetched, Fetched, bool]:
        async with httpx.AsyncClient(follow_redirects=True) as client:
            ok = await fetch(ok_url, policy=LOCAL, client=client)
            redirected = await fetch(server.url("/r"), policy=LOCAL, client=client)
            return ok, redirected, client.is_closed

    ok, redirected, closed = run(go())
    assert ok.ok and ok.body == b"ok"
    assert redirected.error_code == "forbidden_address"
    assert not closed


# --- SSRF -----------------------------------------------------------------------------


def test_loopback_refused_without_allow_list(server: FixtureServer) -> None:
    url = server.set("/a", b"secret")
    got = run(fetch(url, policy=FetchPolicy()))
    assert not got.ok
    assert got.error_code == "forbidden_address"
    assert "127.0.0.1" in got.error and "loopback" in got.error
    assert got.body == b"" and got.status is None
    assert server.requests == []  # never connected


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.0.1:8080/admin",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://2130706433/",  # 127.0.0.1 written as one number
        "https://localhost/",
    ],
)
def test_private_literals_and_names_refused(url: str) -> None:
    got = run(fetch(url, policy=FetchPolicy(timeout_s=5)))
    assert got.error_code == "forbidden_address", got.error


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://a/"])
def test_other_schemes_refused(url: str) -> None:
    got = run(fetch(url, policy=LOCAL))
    assert (got.ok, got.error_code) == (False, "bad_scheme")


def test_url_without_host_refused() -> None:
    assert run(fetch("http:///x", policy=LOCAL)).error_code == "bad_url"


def test_any_private_address_of_a_name_refuses_it(dns: FakeDns) -> None:
    dns.names["mixed.test"] = ["93.184.216.34", "10.0.0.7"]
    got = run(fetch("http://mixed.test/", policy=FetchPolicy()))
    assert got.error_code == "forbidden_address"
    assert "10.0.0.7" in got.error


def test_connects_to_the_checked_address_with_the_original_host(
    server: FixtureServer, dns: FakeDns
) -> None:
    # "pinned.test" exists only in the fake resolver: if the client resolved the name
    # again (where a rebinding attacker could answer differently) the fetch would fail.
    dns.names["pinned.test"] = ["127.0.0.1"]
    server.set("/p", b"pinned")
    policy = FetchPolicy(allow_hosts=frozenset({"pinned.test"}))
    got = run(fetch(server.url("/p", host="pinned.test"), policy=policy))
    assert got.ok, got.error
    assert got.body == b"pinned"
    assert got.final_url == server.url("/p", host="pinned.test")
    assert server.requests[0][1]["Host"] == f"pinned.test:{server.port}"
    assert dns.calls == ["pinned.test"]


def test_tls_to_the_pinned_address_verifies_the_host_name(tls: Tls, dns: FakeDns) -> None:
    dns.names["pinned.test"] = ["127.0.0.1"]
    dns.names["other.test"] = ["127.0.0.1"]
    tls.server.set("/s", b"over tls")
    policy = FetchPolicy(allow_hosts=frozenset({"pinned.test", "other.test"}), timeout_s=5)

    async def go(host: str) -> Fetched:
        async with httpx.AsyncClient(verify=tls.client_context, trust_env=False) as client:
            url = tls.server.url("/s", host=host, scheme="https")
            return await fetch(url, policy=policy, client=client)

    good = run(go("pinned.test"))
    assert (good.ok, good.body) == (True, b"over tls"), good.error
    assert tls.server.requests[0][1]["Host"] == f"pinned.test:{tls.server.port}"
    # The certificate names pinned.test only: SNI/verification use the URL's name,
    # not the IP the connection was pinned to, so this must fail.
    bad = run(go("other.test"))
    assert (bad.ok, bad.error_code) == (False, "connection")
    assert "certificate" in bad.error.lower()


def test_dns_failure(dns: FakeDns) -> None:
    dns.names["gone.test"] = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    got = run(fetch("https://gone.test/x", policy=FetchPolicy()))
    assert (got.ok, got.error_code) == (False, "dns")


def test_connection_refused() -> None:
    got = run(fetch(f"http://127.0.0.1:{free_port()}/", policy=LOCAL))
    assert (got.ok, got.error_code, got.status) == (False, "connection", None)


# --- redirects ------------------------------------------------------------------------


def test_redirects_followed_by_hand(server: FixtureServer) -> None:
    server.redirect("/r1", "/r2", 301)
    server.redirect("/r2", server.url("/ok"), 307)
    server.set("/ok", b"done")
    got = run(fetch(server.url("/r1"), policy=LOCAL))
    assert got.ok, got.error
    assert got.body == b"done"
    assert got.url == server.url("/r1")
    assert got.final_url == server.url("/ok")
    assert [p for p, _ in server.requests] == ["/r1", "/r2", "/ok"]


def test_redirect_to_a_forbidden_address_refused(server: FixtureServer) -> None:
    server.redirect("/meta", "http://169.254.169.254/latest/meta-data/")
    got = run(fetch(server.url("/meta"), policy=LOCAL))
    assert (got.ok, got.error_code) == (False, "forbidden_address")
    assert got.final_url == "http://169.254.169.254/latest/meta-data/"


def test_redirect_to_a_name_of_loopback_not_allowed(server: FixtureServer) -> None:
    # 127.0.0.1 is allowed, "localhost" (which resolves to it) is not.
    server.redirect("/r", server.url("/ok", host="localhost"))
    server.set("/ok", b"secret")
    got = run(fetch(server.url("/r"), policy=LOCAL))
    assert got.error_code == "forbidden_address"
    assert [p for p, _ in server.requests] == ["/r"]


def test_redirect_to_file_scheme_refused(server: FixtureServer) -> None:
    server.redirect("/f", "file:///etc/passwd")
    got = run(fetch(server.url("/f"), policy=LOCAL))
    assert got.error_code == "bad_scheme"


def test_too_many_redirects(server: FixtureServer) -> None:
    server.redirect("/loop", "/loop")
    got = run(fetch(server.url("/loop"), policy=LOCAL))
    assert (got.ok, got.error_code, got.status) == (False, "too_many_redirects", 302)
    assert len(server.requests) == LOCAL.max_redirects + 1


def test_redirect_limit_is_exact(server: FixtureServer) -> None:
    for i in range(3):
        server.redirect(f"/h{i}", f"/h{i + 1}")
    server.set("/h3", b"end")
    assert run(fetch(server.url("/h0"), policy=LOCAL)).ok  # 3 redirects, limit 3
    two = FetchPolicy(allow_hosts=LOCAL.allow_hosts, max_redirects=2)
    assert run(fetch(server.url("/h0"), policy=two)).error_code == "too_many_redirects"


# --- limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("content_length", [True, False])
def test_oversized_body_is_a_failure(server: FixtureServer, content_length: bool) -> None:
    policy = FetchPolicy(allow_hosts=LOCAL.allow_hosts, max_bytes=1000)
    server.set("/big", b"x" * 1001, content_length=content_length)
    server.set("/fits", b"x" * 1000, content_length=content_length)
    big = run(fetch(server.url("/big"), policy=policy))
    assert (big.ok, big.error_code, big.body) == (False, "too_large", b"")
    fits = run(fetch(server.url("/fits"), policy=policy))
    assert fits.ok and len(fits.body) == 1000


def test_slow_endpoint_times_out(server: FixtureServer) -> None:
    url = server.set("/slow", b"late", delay_s=3)
    policy = FetchPolicy(allow_hosts=LOCAL.allow_hosts, timeout_s=0.3)
    got = run(fetch(url, policy=policy))
    assert (got.ok, got.error_code) == (False, "timeout")


def test_timeout_is_total_not_per_read(server: FixtureServer) -> None:
    # Each byte arrives well within the timeout, the whole body does not.
    url = server.set("/trickle", b"x" * 20, trickle_s=0.05)
    policy = FetchPolicy(allow_hosts=LOCAL.allow_hosts, timeout_s=0.4)
    got = run(fetch(url, policy=policy))
    assert (got.ok, got.error_code, got.status) == (False, "timeout", 200)


def test_server_error_is_recorded_with_its_body(server: FixtureServer) -> None:
    url = server.set("/err", b"internal error page", status=500)
    got = run(fetch(url, policy=LOCAL))
    assert (got.ok, got.error_code, got.status) == (False, "http_status", 500)
    assert got.body == b"internal error page"
    assert "500" in got.error


def test_not_found_is_a_failure(server: FixtureServer) -> None:
    got = run(fetch(server.url("/nothing"), policy=LOCAL))
    assert (got.ok, got.error_code, got.status, got.body) == (
        False,
        "http_status",
        404,
        b"not found",
    )


# --- the public form of a failure's text --------------------------------------------------


@pytest.mark.parametrize(
    ("journaled", "public"),
    [
        (
            "'intranet.test' resolves to 10.0.0.7, a private address (not allow-listed)",
            "'intranet.test' resolves to [address withheld], a private address (not allow-listed)",
        ),
        (
            "'x.test' resolves to ::ffff:a00:7, a private (embedded in ::ffff:a00:7) address",
            "'x.test' resolves to [address withheld], a private (embedded in [address withheld])"
            " address",
        ),
        ("'x.test' resolves to fe80::1%eth0, a link-local", "'x.test' resolves to "
         "[address withheld], a link-local"),
        (
            "'x.test' resolves to 100.64.0.9, a special-purpose (100.64.0.0/10) address",
            "'x.test' resolves to [address withheld], a special-purpose (100.64.0.0/10) address",
        ),
        (
            "ConnectError: [Errno 111] Connect call failed ('10.1.2.3', 8080)",
            "ConnectError: [Errno 111] Connect call failed ('[address withheld]', 8080)",
        ),
        ("failed: 10.0.0.1:8080 and [2001:db8::5]:443.", "failed: [address withheld]:8080 and "
         "[[address withheld]]:443."),
        ("no complete answer within 10.0 s", "no complete answer within 10.0 s"),
        ("HTTP status 503 at 2025-11-15T00:00:00Z", "HTTP status 503 at 2025-11-15T00:00:00Z"),
        ("$.a.b is missing; cafe.beef dead:beef", "$.a.b is missing; cafe.beef dead:beef"),
    ],
)  # fmt: skip
def test_public_error_withholds_every_address(journaled: str, public: str) -> None:
    assert public_error(journaled) == public


def test_a_real_refusal_has_a_public_form_without_the_address(dns: FakeDns) -> None:
    dns.names["mixed.test"] = ["93.184.216.34", "10.0.0.7"]
    got = run(fetch("http://mixed.test/", policy=FetchPolicy()))
    assert "10.0.0.7" in got.error  # the journaled text, for admins
    shown = public_error(got.error)
    assert "10.0.0.7" not in shown and "93.184.216.34" not in shown
    assert (
        shown == "'mixed.test' resolves to [address withheld], a private address (not allow-listed)"
    )
