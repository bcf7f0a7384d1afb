"""The `styrkedja` command: serve, tenants, users, demo and ledger verification."""

from __future__ import annotations

import argparse
import json
import os
import sys

from domain.stores import StoreConfig

DEMO_SLUG = "vanersborg"


def _tenants():
    from projections.tenants import Tenants

    return Tenants(StoreConfig.from_environ())


def cmd_serve(args) -> int:
    from web import create_app

    tenants = _tenants()
    ensure_demo(tenants)
    app = create_app({"TENANTS": tenants})
    where = "PostgreSQL" if tenants.config.is_postgres else f"SQLite under {tenants.config.data_dir}"
    print(f"Styrkedja on http://{args.host}:{args.port}/ ({where})", flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    return 0


def ensure_demo(tenants) -> int:
    """Create the demo tenant if it is missing; rerunning records nothing."""
    from web.demo import build_demo

    if tenants.platform.find_tenant(DEMO_SLUG) is None:
        tenants.create(DEMO_SLUG, "Vänersborgs kommun", "1487")
    return build_demo(tenants.get(DEMO_SLUG))


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
    tenants = _tenants()
    for tenant in tenants.platform.tenants():
        head = tenants.get(tenant.slug).ledger_head()[0]
        print(f"{tenant.slug}\t{tenant.municipality_code}\t{tenant.name}\t{head} events")
    return 0


def cmd_users_add(args) -> int:
    tenants = _tenants()
    if tenants.platform.find_tenant(args.tenant) is None:
        print(f"No tenant {args.tenant}", file=sys.stderr)
        return 2
    bodies = [b for b in (args.bodies or "").split(",") if b]
    _user, token = tenants.platform.add_user(args.tenant, args.email, args.name, args.role, bodies)
    print(token)
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
    tenants.add_parser("list", help="list tenants with event counts").set_defaults(func=cmd_tenants_list)

    users = sub.add_parser("users", help="users of a tenant").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="add a user and print their API token")
    add.add_argument("--tenant", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=["admin", "registrar", "reporter", "auditor", "viewer"])
    add.add_argument("--bodies", help="comma-separated body codes the user is limited to")
    add.set_defaults(func=cmd_users_add)

    ledger = sub.add_parser("ledger", help="the hash-chained ledger").add_subparsers(dest="action", required=True)
    verify = ledger.add_parser("verify", help="recompute the chain; exit 1 and name the first bad position")
    target = verify.add_mutually_exclusive_group(required=True)
    target.add_argument("--tenant")
    target.add_argument("--file", help="a ledger export (JSON Lines)")
    verify.set_defaults(func=cmd_ledger_verify)
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
