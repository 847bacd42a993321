"""The evidence store in the shared database, for several machines.

On one machine (``augury serve`` on SQLite) raw captures live in files under the data
directory (``EvidenceStore``). With the roles on several machines, the observer that
fetched a capture and the API node that serves it are different machines: the bytes go
to the shared PostgreSQL database instead (table ``evidence_blobs``, created by the
read models' migration 0005), keyed by their SHA-256, with the same interface and the
same guarantees: idempotent writes, names validated, a damaged copy replaced.
"""

from __future__ import annotations

from sqlalchemy import Column, Engine, Integer, LargeBinary, MetaData, String, Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from augury.evidence.store import check_sha, sha256_hex

metadata = MetaData()
evidence_blobs = Table(
    "evidence_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
)


class SqlEvidenceStore:
    """Raw bytes by SHA-256 in the ``evidence_blobs`` table of ``engine``'s database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, data: bytes) -> str:
        sha = sha256_hex(data)
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(evidence_blobs).values(sha256=sha, size=len(data), body=data)
        # a damaged row (bytes that no longer hash to the key) is replaced
        statement = statement.on_conflict_do_update(
            index_elements=["sha256"],
            set_={"size": len(data), "body": data},
        )
        with self.engine.begin() as conn:
            conn.execute(statement)
        return sha

    def get(self, sha: str) -> bytes:
        check_sha(sha)
        with self.engine.connect() as conn:
            body = conn.execute(
                select(evidence_blobs.c.body).where(evidence_blobs.c.sha256 == sha)
            ).scalar()
        if body is None:
            raise KeyError(sha)
        return bytes(body)

    def has(self, sha: str) -> bool:
        return self.size(sha) is not None

    def size(self, sha: str) -> int | None:
        try:
            check_sha(sha)
        except ValueError:
            return None
        with self.engine.connect() as conn:
            found = conn.execute(
                select(evidence_blobs.c.size).where(evidence_blobs.c.sha256 == sha)
            ).scalar()
        return None if found is None else int(found)

    def verify(self, sha: str) -> bool:
        return sha256_hex(self.get(sha)) == sha

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(evidence_blobs)).scalar_one())
