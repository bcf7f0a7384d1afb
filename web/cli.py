"""The `styrkedja` command: serve, tenants, users, demo and ledger verification."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from domain.stores import StoreConfig

DEMO_SLUG = "vanersborg"


def _tenants():
    from projections.tenants import Tenants

    return Tenants(StoreConfig.from_environ())


def _log_as_configured() -> None:
    """Long-running commands log in STYRKEDJA_LOG_FORMAT (json in the stack), like the web app under gunicorn."""
    import logging

    from web.logs import configure_logging

    configure_logging()
    # `styrkedja serve`'s development server would repeat each request in its own format: ours has the id.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def cmd_serve(args) -> int:
    _log_as_configured()
    from web import create_app

    tenants = _tenants()
    ensure_demo(tenants)
    app = create_app({"TENANTS": tenants})
    where = "PostgreSQL" if tenants.config.is_postgres else f"SQLite under {tenants.config.data_dir}"
    print(f"Styrkedja on http://{args.host}:{args.port}/ ({where})", flush=True)
    print((tenants.config.data_dir / "demo-inloggning.txt").read_text(encoding="utf-8"), flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    return 0


DEMO_USERS = (
    ("registrator@vanersborg.example", "Rita Registrator", "registrar", []),
    ("revisor@vanersborg.example", "Rune Revisor", "auditor", []),
    ("sekreterare.bun@vanersborg.example", "Sara Sekreterare (BUN)", "reporter", ["BUN"]),
    ("admin@vanersborg.example", "Ada Administratör", "admin", []),
)


def ensure_demo(tenants) -> int:
    """Create the demo tenant and its demo users if missing; rerunning records nothing."""
    from web.demo import build_demo

    if tenants.platform.find_tenant(DEMO_SLUG) is None:
        tenants.create(DEMO_SLUG, "Vänersborgs kommun", "1487")
    recorded = build_demo(tenants.get(DEMO_SLUG))
    ensure_demo_users(tenants)
    return recorded


def ensure_demo_users(tenants) -> Path:
    """Demo users with a password made for this installation, written to var/demo-inloggning.txt."""
    import secrets

    from web.ui.signin import hash_password

    credentials = tenants.config.data_dir / "demo-inloggning.txt"
    if credentials.exists():
        return credentials
    password = secrets.token_urlsafe(12)
    lines = ["Demoanvändare för Vänersborgs kommun (exempeldata), lösenord för alla: " + password]
    for email, name, role, bodies in DEMO_USERS:
        user = tenants.platform.user_by_email(DEMO_SLUG, email)
        if user is None:
            user, _ = tenants.platform.add_user(DEMO_SLUG, email, name, role, bodies)
        tenants.platform.set_password(user.id, hash_password(password))
        lines.append(f"  {email}  ({role})")
    credentials.write_text("\n".join(lines) + "\n", encoding="utf-8")
    credentials.chmod(0o600)
    return credentials


def cmd_demo(args) -> int:
    recorded = ensure_demo(_tenants())
    print(f"Demo tenant {DEMO_SLUG}: {recorded} decisions recorded" if recorded
          else f"Demo tenant {DEMO_SLUG} is already complete; nothing recorded.")
    return 0


def cmd_tenants_create(args) -> int:
    settings = {}
    if args.threshold is not None:
        settings["reallocation_council_threshold_percent"] = args.threshold
    tenant = _tenants().create(args.slug, args.name, args.municipality_code, settings)
    print(f"Created {tenant.slug} ({tenant.name}, {tenant.municipality_code})")
    return 0


def cmd_tenants_list(args) -> int:
    from web.ops_checks import tenant_positions

    tenants = _tenants()
    listed = tenants.platform.tenants()
    positions = {p.slug: p for p in tenant_positions(tenants.config, [t.slug for t in listed])}
    rows = [{"slug": t.slug, "name": t.name, "municipality_code": t.municipality_code,
             "events": positions[t.slug].head, "projected": positions[t.slug].projected,
             "lag": positions[t.slug].lag} for t in listed]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    table = [("SLUG", "NAME", "EVENTS", "PROJECTED", "LAG")]
    table += [(r["slug"], r["name"], str(r["events"]), str(r["projected"]), str(r["lag"])) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells).rstrip())
    return 0


def cmd_ready(args) -> int:
    """The checks of /readyz from the command line (a container's health check); exit 1 when not ready."""
    from web.ops_checks import max_lag, readiness, worker_registered

    redis_url = os.environ.get("REDIS_URL") or None
    if args.worker:
        # A report worker needs its queue and its own registration, not the read models' freshness.
        checks = {"worker": worker_registered(redis_url)}
        ready = checks["worker"]["state"] == "ok"
        body = {"status": "ready" if ready else "not_ready", "checks": checks}
    else:
        ready, body = readiness(_tenants(), redis_url, max_lag(), check_storage=False)
    print(json.dumps(body, ensure_ascii=False))
    return 0 if ready else 1


def cmd_users_add(args) -> int:
    tenants = _tenants()
    if tenants.platform.find_tenant(args.tenant) is None:
        print(f"No tenant {args.tenant}", file=sys.stderr)
        return 2
    bodies = [b for b in (args.bodies or "").split(",") if b]
    _user, token = tenants.platform.add_user(args.tenant, args.email, args.name, args.role, bodies)
    print(token)
    return 0


def _user_named(tenants, args):
    """The user `--email` of `--tenant`, or None after saying so on standard error."""
    user = tenants.platform.user_by_email(args.tenant, args.email)
    if user is None:
        print(f"No user {args.email} in {args.tenant}", file=sys.stderr)
    return user


def cmd_users_password(args) -> int:
    import getpass

    from web.ui.signin import hash_password

    tenants = _tenants()
    user = _user_named(tenants, args)
    if user is None:
        return 2
    password = args.password or getpass.getpass("Nytt lösenord: ")
    if len(password) < 12:
        print("styrkedja: a password has at least 12 characters", file=sys.stderr)
        return 2
    tenants.platform.set_password(user.id, hash_password(password))
    print(f"Password set for {args.email} in {args.tenant}")
    return 0


def cmd_users_token(args) -> int:
    """Rotate (print the new token) or revoke a user's API token, and keep it in the access audit trail."""
    import datetime as dt

    from projections.access_audit import AccessAudit, AccessEvent

    tenants = _tenants()
    user = _user_named(tenants, args)
    if user is None:
        return 2
    if args.revoke:
        tenants.platform.revoke_token(user.id)
        kind, said = "token_revoked", f"Token revoked for {args.email} in {args.tenant}"
    else:
        said = tenants.platform.rotate_token(user.id)
        kind = "token_rotated"
    AccessAudit(tenants.config).append(AccessEvent(
        at=dt.datetime.now(dt.UTC), tenant=args.tenant, user_id=str(user.id), kind=kind, outcome="success",
        ip=None, user_agent="styrkedja command line"))
    print(said)
    print("Running web processes stop accepting the old token within 5 seconds.", file=sys.stderr)
    return 0


def cmd_ledger_verify(args) -> int:
    from domain.ledger import verify_export

    if args.file:
        with open(args.file, encoding="utf-8") as lines:
            result = verify_export(lines)
    else:
        app = _tenants().get(args.tenant)
        if app is None:
            print(f"No tenant {args.tenant}", file=sys.stderr)
            return 2
        result = app.verify_ledger()
    print(json.dumps({**result.as_dict(), "reason": result.reason}, ensure_ascii=False))
    if not result.ok:
        print(f"Ledger broken at position {result.first_bad_position}: {result.reason}", file=sys.stderr)
        return 1
    return 0


def cmd_export(args) -> int:
    from projections.export import export_lines

    tenants = _tenants()
    app = tenants.get(args.tenant)
    if app is None:
        print(f"No tenant {args.tenant}", file=sys.stderr)
        return 2
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        # The header names the municipality too, so `styrkedja restore` needs nothing but the file.
        for line in export_lines(app, about=tenants.platform.find_tenant(args.tenant)):
            out.write(line + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_restore(args) -> int:
    from domain.restore import RestoreRefusedError
    from projections.restore import restore

    settings = {}
    if args.threshold is not None:
        settings["reallocation_council_threshold_percent"] = args.threshold
    try:
        with open(args.file, encoding="utf-8") as lines:
            restored = restore(_tenants(), lines, slug=args.tenant, name=args.name,
                               municipality_code=args.municipality_code, settings=settings)
    except RestoreRefusedError as error:
        print(f"styrkedja: restore refused, nothing written: {error.message}", file=sys.stderr)
        return 1
    tenant = restored.tenant
    print(f"Restored {tenant.slug} ({tenant.name}, {tenant.municipality_code}): {restored.head_position} events, "
          f"head {restored.head_hash}" + (" (finished an interrupted restore)" if restored.resumed else ""))
    print(f"Users and API tokens are not part of the ledger: add them anew with "
          f"`styrkedja users add --tenant {tenant.slug} ...`.")
    return 0


def cmd_replay(args) -> int:
    import datetime as dt

    from projections.replay import BrokenExportError, read_export, replay_state

    try:
        with open(args.file, encoding="utf-8") as lines:
            header, records = read_export(lines)
    except BrokenExportError as error:
        print(f"styrkedja: refused: {error}", file=sys.stderr)
        return 1
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else dt.date.today()
    known_at = dt.datetime.fromisoformat(args.known_at) if args.known_at else None
    if known_at is not None and known_at.tzinfo is None:
        print("styrkedja: --known-at needs a UTC offset, e.g. 2024-05-20T12:00:00+02:00", file=sys.stderr)
        return 2
    print(json.dumps(replay_state(header, records, as_of, known_at), ensure_ascii=False, indent=2, sort_keys=True))
    return 0


def cmd_projections_run(args) -> int:
    _log_as_configured()
    import logging

    from projections.runner import ProjectionRunner

    tenants = _tenants()
    runner = ProjectionRunner(tenants)
    # A log line, not a print: the stack's log files hold JSON lines only.
    how = "PostgreSQL LISTEN/NOTIFY" if tenants.config.is_postgres else "polling SQLite"
    logging.getLogger("projections.runner").info("projection runner started (%s)", how)
    import time

    import psycopg
    from eventsourcing.persistence import PersistenceError

    while True:
        try:
            runner.run()
            return 0
        except KeyboardInterrupt:
            runner.stop()
            return 0
        except (psycopg.Error, PersistenceError, ConnectionError) as error:  # ConnectionError: pool.DatabaseUnavailable
            # A database restart or failover must not need a restart of the runner: it starts over (the
            # tracking records say where each tenant was) once the database answers again.
            logging.getLogger("projections.runner").warning("database unavailable, retrying in 1 s: %s", error)
            time.sleep(1.0)


def cmd_projections_rebuild(args) -> int:
    from projections.runner import rebuild

    tenants = _tenants()
    slugs = [args.tenant] if args.tenant else [t.slug for t in tenants.platform.tenants()]
    for slug in slugs:
        if tenants.get(slug) is None:
            print(f"No tenant {slug}", file=sys.stderr)
            return 2
        print(f"{slug}: {rebuild(tenants, slug)} events projected")
    return 0


def cmd_worker(args) -> int:
    """An RQ worker for the report queue; start several for more throughput."""
    _log_as_configured()
    from redis import Redis

    from workers.queue import QUEUE_NAME
    from workers.worker import ReportWorker

    url = os.environ.get("REDIS_URL")
    if not url:
        print("styrkedja: set REDIS_URL; without it reports run inside `styrkedja serve`", file=sys.stderr)
        return 2
    # A job whose worker died (kill -9, lost machine) is retried after RQ's maintenance pass notices
    # its expired heartbeat. That pass also restarts the scheduler, which moves retries back to the queue
    # and dies when Redis restarts; it runs only between dequeues, each blocking up to worker_ttl - 15 s.
    # So: a pass every 15 s, a dequeue at most every 20 s (RQ's defaults: 10 minutes and 405 s).
    worker = ReportWorker([QUEUE_NAME], connection=Redis.from_url(url), name=args.name, maintenance_interval=15,
                          worker_ttl=35)
    worker.work(burst=args.burst, with_scheduler=True)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="styrkedja", description="Styrkedja: the governance chain, event by event.")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app and API (embedded default unless DATABASE_URL is set)")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("demo", help="create the demo tenant vanersborg (idempotent)").set_defaults(func=cmd_demo)

    tenants = sub.add_parser("tenants", help="hosted municipalities").add_subparsers(dest="action", required=True)
    create = tenants.add_parser("create", help="create a tenant")
    create.add_argument("slug")
    create.add_argument("--name", required=True)
    create.add_argument("--municipality-code", required=True)
    create.add_argument("--threshold", type=int, help="reallocation council threshold, percent of the frame")
    create.set_defaults(func=cmd_tenants_create)
    listing = tenants.add_parser("list", help="tenants with their events, projected position and projection lag")
    listing.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    listing.set_defaults(func=cmd_tenants_list)
    ready = sub.add_parser("ready", help="the checks of /readyz (database, Redis, projection lag); exit 1 if not ready")
    ready.add_argument("--worker", action="store_true",
                       help="instead: is a report worker of this host registered in Redis (a worker's health check)")
    ready.set_defaults(func=cmd_ready)

    users = sub.add_parser("users", help="users of a tenant").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="add a user and print their API token")
    add.add_argument("--tenant", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=["admin", "registrar", "reporter", "auditor", "viewer"])
    add.add_argument("--bodies", help="comma-separated body codes the user is limited to")
    add.set_defaults(func=cmd_users_add)
    password = users.add_parser("password", help="set a user's password for signing in to the web UI")
    password.add_argument("--tenant", required=True)
    password.add_argument("--email", required=True)
    password.add_argument("--password", help="the password (prompted for when left out)")
    password.set_defaults(func=cmd_users_password)
    token = users.add_parser("token", help="rotate a user's API token (prints the new one) or revoke it")
    token.add_argument("--tenant", required=True)
    token.add_argument("--email", required=True)
    token.add_argument("--revoke", action="store_true", help="end the token without issuing a new one")
    token.set_defaults(func=cmd_users_token)

    ledger = sub.add_parser("ledger", help="the hash-chained ledger").add_subparsers(dest="action", required=True)
    verify = ledger.add_parser("verify", help="recompute the chain; exit 1 and name the first bad position")
    target = verify.add_mutually_exclusive_group(required=True)
    target.add_argument("--tenant")
    target.add_argument("--file", help="a ledger export (JSON Lines)")
    verify.set_defaults(func=cmd_ledger_verify)

    export = sub.add_parser("export", help="write a tenant's ledger export (JSON Lines) to stdout or a file")
    export.add_argument("--tenant", required=True)
    export.add_argument("-o", "--output")
    export.set_defaults(func=cmd_export)

    restore = sub.add_parser("restore", help="recreate a tenant from its export in an empty store (verifies it first)")
    restore.add_argument("file")
    restore.add_argument("--tenant", help="the tenant's slug, only for an export whose header names none")
    restore.add_argument("--name", help="the municipality's name, if the export's header has none")
    restore.add_argument("--municipality-code", help="the four-digit kommunkod, if the export's header has none")
    restore.add_argument("--threshold", type=int, help="reallocation council threshold, percent of the frame")
    restore.set_defaults(func=cmd_restore)

    replay = sub.add_parser("replay", help="the state as of a date from an export alone (verifies it first)")
    replay.add_argument("file")
    replay.add_argument("--as-of", help="decision time, YYYY-MM-DD (default today)")
    replay.add_argument("--known-at", help="record time, ISO 8601 with offset (default: everything)")
    replay.set_defaults(func=cmd_replay)

    worker = sub.add_parser("worker", help="run an RQ worker for reports (needs REDIS_URL)")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.add_argument("--name", help="worker name (default: generated)")
    worker.set_defaults(func=cmd_worker)

    projections = sub.add_parser("projections", help="read models").add_subparsers(dest="action", required=True)
    projections.add_parser("run", help="keep every tenant's read models caught up").set_defaults(
        func=cmd_projections_run)
    rebuild = projections.add_parser("rebuild", help="drop and rebuild read models from the log")
    rebuild.add_argument("--tenant")
    rebuild.set_defaults(func=cmd_projections_rebuild)
    return p


def main(argv: list[str] | None = None) -> int:
    from domain.errors import DomainError

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (DomainError, ValueError) as error:
        print(f"styrkedja: {getattr(error, 'message', error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
