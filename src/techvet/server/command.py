"""``techvet serve``, ``techvet db upgrade``, ``techvet users add`` and ``techvet tokens add``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from techvet.errors import UsageError
from techvet.iocs.command import add_iocs_option

DEFAULT_DATA = "techvet-data"


def add_parsers(sub: argparse._SubParsersAction, commands: dict[str, argparse.ArgumentParser]) -> None:
    def data_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--data", metavar="DIR", default=os.environ.get("TECHVET_DATA", DEFAULT_DATA),
            help=f"the service's folder: database, uploads, lists (default: $TECHVET_DATA or ./{DEFAULT_DATA})",
        )  # fmt: skip

    serve = commands["serve"] = sub.add_parser(
        "serve", help="the team service: an HTTP API that keeps every scan and decision, and re-judges them"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--workers", type=int, default=0, metavar="N", help="worker processes for jobs (default: cores)")
    add_iocs_option(serve, "uploaded apps and captures")
    data_option(serve)

    db = commands["db"] = sub.add_parser("db", help="the service's database: apply migrations")
    db.add_argument("action", choices=("upgrade",))
    data_option(db)

    users = commands["users"] = sub.add_parser("users", help="the service's users: add one (prints its API token once)")
    users.add_argument("action", choices=("add",))
    users.add_argument("name")
    users.add_argument("--role", choices=("viewer", "analyst", "admin"), default="viewer")
    users.add_argument(
        "--password-stdin", action="store_true", help="read a password for browser sign-in from standard input"
    )
    data_option(users)

    tokens = commands["tokens"] = sub.add_parser("tokens", help="API tokens: add one for a user (printed once)")
    tokens.add_argument("action", choices=("add",))
    tokens.add_argument("name", help="the user")
    tokens.add_argument("--label", default="", help="what the token is for")
    data_option(tokens)


def _store(data: str) -> Any:
    try:
        from techvet.store.db import Store
    except ImportError:
        raise UsageError("the service needs its extra: pip install 'techvet[serve]'") from None
    store = Store(Path(data))
    store.upgrade()
    return store


def run(args: argparse.Namespace) -> int:
    if args.command == "db":
        store = _store(args.data)
        print(f"database at revision {store.upgrade()} ({store.engine.url.render_as_string(hide_password=True)})")
        return 0
    if args.command in ("users", "tokens"):
        import sys

        from sqlalchemy import select

        from techvet.store.models import User
        from techvet.store.users import add_token, add_user

        store = _store(args.data)
        with store.session() as session:
            if args.command == "users":
                password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
                if args.password_stdin and len(password or "") < 12:
                    raise UsageError("a password is at least 12 characters")
                user = add_user(session, args.name, args.role, password)
                label = "first token"
            else:
                found = session.scalar(select(User).where(User.name == args.name))
                if found is None:
                    raise UsageError(f"no user {args.name!r}")
                user, label = found, args.label
            secret = add_token(session, user, label)
        print(secret)
        print(f"the API token of {user.name} ({user.role}); it is shown only now", file=sys.stderr)
        return 0
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from techvet.server.app import Settings, create_app
    except ImportError:
        raise UsageError("the service needs its extra: pip install 'techvet[serve]'") from None
    if not 0 < args.port < 65536:
        raise UsageError(f"port {args.port} is not a TCP port")
    workers = args.workers or os.cpu_count() or 1
    if args.iocs:
        from techvet.iocs.installed import with_bundles

        with_bundles(args.iocs)  # a bad bundle is one line now, not a failed job per upload
    app = create_app(Settings(Path(args.data), workers=workers, iocs=tuple(os.path.abspath(p) for p in args.iocs)))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False)
    return 0
