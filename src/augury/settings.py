"""The server's settings: environment variables (prefix ``AUGURY_``) and ``augury serve`` flags.

Development mode (the default) runs with a built-in secret key and may use simulated
time. Production mode refuses both: a missing, default or short secret key and the
simulated clock are configuration errors raised at startup, never warnings.

This module only reads configuration; it opens nothing and starts nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from augury.domain.units import parse_micros

DEFAULT_SECRET_KEY = "augury-development-secret-key-do-not-use-in-production"
SECRET_KEY_LEN_MIN = 32
PAGE_SIZE_MAX = 200
"""The largest page any list endpoint returns."""


class Settings(BaseSettings):
    """Everything ``create_app`` needs to know; see docs/api.md (Configuration)."""

    model_config = SettingsConfigDict(env_prefix="AUGURY_", extra="ignore", frozen=True)

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None
    """PostgreSQL for the journal and the read models; None: SQLite files in data_dir."""
    journal_namespace: str = "augury"
    projections_namespace: str = "augury_projections"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    secret_key: str = DEFAULT_SECRET_KEY
    clock: Literal["system", "simulated"] = "system"
    start: str | None = None
    """RFC 3339 start instant of the simulated clock."""
    starting_grant: str = "1000"
    """Credits granted to every new account (a decimal string)."""
    admin_username: str = "admin"
    admin_password: SecretStr | None = None
    """The first admin's password (``AUGURY_ADMIN_PASSWORD``, for scripted deployments);
    without it a random one is made and printed once. Only read on an empty database."""
    telemetry: bool = False
    """FastAPI's native OpenTelemetry (request spans, metrics, logs) through the global
    providers the operator configures; off by default: checking costs every request."""
    access_log: bool = False
    """Log every HTTP request (uvicorn's access log); off by default: it costs about a
    tenth of the event loop's time under load."""
    session_ttl_s: int = Field(default=14 * 86_400, ge=60)
    cookie_secure: bool | None = None
    """Mark cookies Secure (HTTPS only); default: in production mode."""
    body_max_bytes: int = Field(default=64 * 1024, ge=1_024, le=16 * 1024 * 1024)
    rate_limit_ip_per_s: float = Field(default=500.0, ge=0)
    """Requests per second per client IP (0: no limit); bursts up to rate_limit_ip_burst."""
    rate_limit_ip_burst: int = Field(default=1_000, ge=1)
    rate_limit_key_per_s: float = Field(default=200.0, ge=0)
    """Requests per second per API key (0: no limit); bursts up to rate_limit_key_burst."""
    rate_limit_key_burst: int = Field(default=400, ge=1)
    rate_limit_password_per_s: float = Field(default=2.0, ge=0)
    """Logins and registrations per second per client IP (0: no limit)."""
    rate_limit_password_burst: int = Field(default=20, ge=1)
    rate_limit_url: str | None = None
    """Where the rate limits' buckets are kept: None (the default) in each process's
    memory; ``redis://host:port/db`` (or ``rediss://``, ``unix://``) in a Redis every API
    node shares, so N nodes give the limits once (docs/security.md, "Rate limits")."""
    login_backoff_free_failures: int = Field(default=5, ge=1, le=100)
    """Failed logins in a row an account may have before its logins must wait (any IP)."""
    login_backoff_base_s: float = Field(default=1.0, gt=0, le=3_600)
    """The first wait; each further failure doubles it, up to login_backoff_max_s."""
    login_backoff_max_s: float = Field(default=900.0, gt=0, le=3_600)
    """The longest wait (never a lockout: a successful login resets the count)."""
    evidence_allow_hosts: tuple[str, ...] = ()
    """Hosts (or host:port) the evidence fetcher may reach although they resolve to a
    private, loopback or link-local address (e.g. a local fixture server in tests)."""
    evidence_timeout_s: float = Field(default=10.0, gt=0, le=120)
    evidence_max_bytes: int = Field(default=5_000_000, ge=1_024, le=100_000_000)
    evidence_read_timeout_s: float = Field(default=5.0, gt=0, le=120)
    """The time a reader (JSON path, CSS selector, regex, map point, change description)
    may take over one capture, in its worker process; longer is a failed read."""
    evidence_read_max_bytes: int = Field(default=5_000_000, ge=1_024, le=100_000_000)
    """The largest capture the readers take; a larger one is stored but not read."""
    evidence_readers: int = Field(default=2, ge=1, le=16)
    """Worker processes for the readers (started when first needed)."""
    observer_interval_s: float = Field(default=30.0, ge=0)
    """How often (real seconds) the observer looks for sources due; 0: only on demand
    and after each simulated clock advance."""
    projector: Literal["process", "thread"] = "process"
    """Where the read models are written: a child process (default) or a server thread."""
    surveillance: bool = True
    """Run the surveillance detectors on the committed event stream and raise alerts."""
    background_nice: int = Field(default=0, ge=0, le=19)
    """How much lower (a nice increment) the CPU priority of the server's followers is:
    the projector process and the surveillance process. Neither answers a trader: with
    an increment, under a load that keeps every core busy, the processes on the path of
    an order get the cores and the read models run behind (history reads wait for them,
    at most 10 s, then 503) until the load eases. 0 (the default) keeps them fresher:
    on PostgreSQL, a minute of saturating load left them 1.9 s behind at 0 and 9-11 s
    at 5 or 10 (docs/benchmarks.md)."""
    nats_url: str | None = None
    """The bus between the roles (``nats://host:4222``): ``augury engine``, ``augury api``
    and ``augury follow`` need it; ``augury serve`` runs everything in one process and
    does not (docs/architecture.md)."""
    bus_prefix: str = Field(default="augury", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    """The subjects' prefix on the bus, so several exchanges can share one NATS server."""
    node_name: str | None = None
    """This API node's name on the bus (default: host name and process id)."""
    min_seq_wait_s: float = Field(default=2.0, gt=0, le=30)
    """How long a read naming ``Augury-Min-Seq`` waits for this node's replica, then 503."""
    api_docs: Literal["off", "admin", "public"] | None = None
    """Who may read the API's documentation (``/docs`` and ``/openapi.json``): nobody,
    an authenticated admin, or anyone. Default: anyone in development, nobody in
    production (the document maps every route and parameter of the exchange)."""
    argon2_time_cost: int = Field(default=3, ge=1, le=10)
    argon2_memory_kib: int = Field(default=65_536, ge=1_024, le=1_048_576)

    @model_validator(mode="after")
    def _refuse_insecure(self) -> Settings:
        if self.mode == "production":
            if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < SECRET_KEY_LEN_MIN:
                raise ValueError(
                    "production mode needs AUGURY_SECRET_KEY: a random secret of at least "
                    f"{SECRET_KEY_LEN_MIN} characters, not the development default"
                )
            if self.clock == "simulated":
                raise ValueError("production mode refuses the simulated clock")
        if self.clock == "simulated":
            if self.start is None:
                raise ValueError("the simulated clock needs a start instant (--start)")
            parse_instant_us(self.start)
        elif self.start is not None:
            raise ValueError("--start is only for the simulated clock")
        if self.rate_limit_url is not None and not self.rate_limit_url.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("rate_limit_url must be a redis://, rediss:// or unix:// URL")
        grant = parse_micros(self.starting_grant)
        if grant < 0:
            raise ValueError("starting_grant may not be negative")
        return self

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def docs_access(self) -> Literal["off", "admin", "public"]:
        """``api_docs``, or its default for the mode."""
        if self.api_docs is not None:
            return self.api_docs
        return "off" if self.production else "public"

    @property
    def secure_cookies(self) -> bool:
        return self.production if self.cookie_secure is None else self.cookie_secure

    @property
    def starting_grant_micros(self) -> int:
        return parse_micros(self.starting_grant)

    @property
    def start_us(self) -> int | None:
        return None if self.start is None else parse_instant_us(self.start)


def parse_instant_us(text: str) -> int:
    """An RFC 3339 instant with a time zone ("2025-11-14T00:00:00Z") as UTC microseconds."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"not an RFC 3339 instant: {text!r}") from exc
    if when.tzinfo is None:
        raise ValueError(f"an instant needs a time zone (e.g. 'Z'): {text!r}")
    return (when - _EPOCH) // timedelta(microseconds=1)


def format_instant(us: int) -> str:
    """UTC microseconds as RFC 3339 ("2025-11-14T00:00:00Z", microseconds only if any)."""
    when = _EPOCH + timedelta(microseconds=us)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}"
    return text + "Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
