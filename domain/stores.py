"""Where each tenant's events live: its own SQLite file or PostgreSQL schema."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def check_slug(slug: str) -> str:
    """A slug becomes a schema and file name: lowercase letters, digits and '-', 2 to 40 characters."""
    if not isinstance(slug, str) or len(slug) < 2 or not SLUG_PATTERN.match(slug):
        raise ValueError("slug must be 2 to 40 lowercase letters, digits or '-', not starting or ending with '-'")
    return slug


def schema_name(slug: str) -> str:
    return "t_" + check_slug(slug).replace("-", "_")


def app_name(slug: str) -> str:
    # The application name prefixes table names and so the NOTIFY channel: unique per tenant.
    return "gov_" + check_slug(slug).replace("-", "_")


@dataclass(frozen=True)
class StoreConfig:
    """The configured event store: SQLite files under a data directory, or one PostgreSQL database."""

    data_dir: Path
    database_url: str | None = None
    pool_size: int = 5
    # Called with each new infrastructure factory; the run-time registry uses it to make every
    # tenant borrow from one connection pool (projections/pool.py). Domain code stays free of drivers.
    factory_hook: Callable | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))

    def prepare(self, factory) -> None:
        if self.factory_hook is not None:
            self.factory_hook(factory, self)

    @classmethod
    def from_environ(cls, environ=os.environ) -> StoreConfig:
        return cls(
            data_dir=Path(environ.get("STYRKEDJA_DATA_DIR", "./var")).resolve(),
            database_url=environ.get("DATABASE_URL") or None,
            pool_size=int(environ.get("STYRKEDJA_POOL_SIZE", "5")),
        )

    @property
    def is_postgres(self) -> bool:
        return bool(self.database_url)

    def env_for(self, schema: str, sqlite_file: str, create_table: bool) -> dict[str, str]:
        """A complete env for one application: nothing is left to os.environ's defaults."""
        env = {"CREATE_TABLE": "y" if create_table else "n", "AGGREGATE_CACHE_MAXSIZE": "1000"}
        if self.is_postgres:
            url = urlparse(self.database_url)
            env.update(
                PERSISTENCE_MODULE="eventsourcing.postgres",
                POSTGRES_DBNAME=(url.path or "/postgres").lstrip("/") or "postgres",
                POSTGRES_HOST=url.hostname or "127.0.0.1",
                POSTGRES_PORT=str(url.port or 5432),
                POSTGRES_USER=unquote(url.username or "postgres"),
                POSTGRES_PASSWORD=unquote(url.password or ""),
                POSTGRES_SCHEMA=schema,
                POSTGRES_POOL_SIZE="1",
                POSTGRES_MAX_OVERFLOW="0",
                POSTGRES_CONNECT_TIMEOUT="5",
                POSTGRES_PRE_PING="n",
            )
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            env.update(
                PERSISTENCE_MODULE="eventsourcing.sqlite",
                SQLITE_DBNAME=str(self.data_dir / sqlite_file),
                SQLITE_LOCK_TIMEOUT="10",
            )
        return env
