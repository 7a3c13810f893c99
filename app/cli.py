"""`bountyexpo serve | worker | migrate | makemigrations | seed | create-admin | schema ... |
operations register | check | manifest`."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from app.logging import configure_logging, log_config
from app.monitoring.multiprocess import prepare as prepare_multiprocess_metrics
from app.settings import Environment, Settings, SettingsError, get_settings

logger = logging.getLogger("bountyexpo.cli")
# How long uvicorn lets open requests and sockets finish on SIGTERM (deploy/k8s grace periods
# are longer); without a bound it waits forever for open WebSockets.
GRACEFUL_SHUTDOWN_SECONDS = 10


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"bountyexpo: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # pydantic's ValidationError: a malformed variable
        print(f"bountyexpo: invalid configuration:\n{error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    handler = args.handler
    result: int = handler(settings, args)
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bountyexpo", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the gateway (migrates first in development)")
    serve.add_argument("--host", help="bind address (default: HOST)")
    serve.add_argument("--port", type=int, help="port (default: PORT)")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    serve.add_argument("--seed", action="store_true", help="load demo data first (development)")
    serve.set_defaults(handler=serve_command)

    worker = commands.add_parser(
        "worker", help="run background jobs (WORKER_QUEUES, WORKER_CONCURRENCY) until SIGTERM"
    )
    worker.set_defaults(handler=worker_command)

    migrate = commands.add_parser("migrate", help="upgrade the database to the latest revision")
    migrate.set_defaults(handler=migrate_command)

    revision = commands.add_parser("makemigrations", help="autogenerate a migration from models")
    revision.add_argument("message")
    revision.set_defaults(handler=makemigrations_command)

    seed = commands.add_parser("seed", help="load demo data (idempotent; refused in production)")
    seed.set_defaults(handler=seed_command)

    admin = commands.add_parser("create-admin", help="create an admin account (bootstrap)")
    admin.add_argument("email")
    admin.add_argument("--display-name", default="Admin")
    admin.add_argument(
        "--generate-password",
        action="store_true",
        help="generate a password and print it once (the default without a terminal)",
    )
    admin.set_defaults(handler=create_admin_command)

    schema = commands.add_parser("schema", help="the committed GraphQL SDL")
    schema_commands = schema.add_subparsers(required=True, metavar="ACTION")
    export = schema_commands.add_parser("export", help="write the SDL")
    export.add_argument("--output", type=Path, default=Path("schema.graphql"))
    export.set_defaults(handler=schema_export_command)
    check = schema_commands.add_parser("check", help="exit 1 if the file differs from the code")
    check.add_argument("--file", type=Path, default=Path("schema.graphql"))
    check.set_defaults(handler=schema_check_command)
    diff = schema_commands.add_parser("diff", help="breaking (exit 1) and dangerous changes")
    diff.add_argument("old", help="file or git ref:path, e.g. HEAD~1:schema.graphql")
    diff.add_argument("new", nargs="?", default="schema.graphql")
    diff.add_argument(
        "--operations",
        help="the shipped app's documents (a folder or <git ref>:<folder>): changes they would "
        "feel are breaking too. Default: OLD's ref's clients/operations when OLD is <ref>:<path>,"
        " else ./clients/operations (skipped when absent)",
    )
    diff.set_defaults(handler=schema_diff_command)

    operations = commands.add_parser("operations", help="trusted documents (persisted operations)")
    operation_commands = operations.add_subparsers(required=True, metavar="ACTION")
    register = operation_commands.add_parser(
        "register", help="trust the documents of a manifest (Apollo, {sha256: body}, .graphql)"
    )
    register.add_argument("file", type=Path)
    register.set_defaults(handler=operations_register_command)
    check_operations = operation_commands.add_parser(
        "check", help="validate clients/operations against the schema (deprecations included)"
    )
    check_operations.add_argument("--dir", type=Path, default=Path("clients/operations"))
    check_operations.set_defaults(handler=operations_check_command)
    manifest = operation_commands.add_parser(
        "manifest", help="write the trusted-documents manifest of clients/operations"
    )
    manifest.add_argument("--dir", type=Path, default=Path("clients/operations"))
    manifest.add_argument("--output", type=Path, default=Path("clients/persisted-operations.json"))
    manifest.add_argument(
        "--check", action="store_true", help="exit 1 if the file differs instead of writing it"
    )
    manifest.set_defaults(handler=operations_manifest_command)
    return parser


def serve_command(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.db.database import resolve_database_url

    url = resolve_database_url(settings)
    # Worker and reload processes import the app anew: they find the database through the env.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    if args.seed or settings.environment is Environment.DEVELOPMENT:
        asyncio.run(_prepare(settings, url, seed=args.seed))
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler that kills
    # the process before atexit runs, and the embedded PostgreSQL would be left running.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # Several workers share /metrics through files; set before any worker imports the metrics.
    metrics_dir = prepare_multiprocess_metrics(args.workers)
    if metrics_dir:
        logger.info("metrics in multi-process mode under %s", metrics_dir)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        reload=args.reload,
        log_level=settings.log_level,
        # Applied again in every worker process: the same JSON lines from all of them.
        log_config=log_config(settings),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # Client addresses behind proxies come from TRUSTED_PROXIES (app/security/middleware.py),
        # not from uvicorn's own FORWARDED_ALLOW_IPS default.
        proxy_headers=False,
        ws_max_size=settings.max_body_bytes,
        # Compression keeps a zlib context per socket (about 40 KB each) and compresses every
        # frame per socket: small JSON frames gain little. WS_PER_MESSAGE_DEFLATE turns it on.
        ws_per_message_deflate=settings.ws_per_message_deflate,
    )
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(0)


async def _prepare(settings: Settings, url: str, *, seed: bool) -> None:
    from app.db.database import open_database
    from app.db.migrate import upgrade_to_head
    from services.demo_bounties import seed_demo_bounties
    from services.payments.interface import payments_for
    from services.seed import seed_demo_data

    async with open_database(settings, url) as database:
        await upgrade_to_head(database.engine)
        if seed:
            async with database.session_factory() as session, session.begin():
                added = await seed_demo_data(session)
            bounties = await seed_demo_bounties(database.session_factory, payments_for(settings))
            logger.info("demo data: %d accounts and %d bounties added", added, bounties)


def worker_command(settings: Settings, args: argparse.Namespace) -> int:
    from workers.process import run_worker_process

    return run_worker_process(settings)


def migrate_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.database import open_database
    from app.db.migrate import current_revision, upgrade_to_head

    async def run() -> str | None:
        async with open_database(settings) as database:
            await upgrade_to_head(database.engine)
            async with database.engine.connect() as connection:
                return await current_revision(connection)

    print(f"database at revision {asyncio.run(run())}")
    return 0


def makemigrations_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.migrate import make_revision

    make_revision(args.message)
    return 0


def seed_command(settings: Settings, args: argparse.Namespace) -> int:
    if settings.is_production:
        print("bountyexpo: demo data is never loaded in production", file=sys.stderr)
        return 2
    from app.db.database import resolve_database_url

    asyncio.run(_prepare(settings, resolve_database_url(settings), seed=True))
    return 0


def create_admin_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.admin import create_admin, read_admin_password

    password, generated = read_admin_password(generate=args.generate_password)
    error = asyncio.run(create_admin(settings, args.email, password, args.display_name))
    if error is not None:
        print(f"bountyexpo: {error}", file=sys.stderr)
        return 1
    print(f"admin {args.email.strip().lower()} created")
    if generated:
        print(f"password (shown once, store it now): {password}")
    return 0


def schema_export_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.schema_tools import current_sdl

    args.output.write_text(current_sdl())
    print(f"wrote {args.output}")
    return 0


def schema_check_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.schema_tools import current_sdl

    expected = current_sdl()
    committed = args.file.read_text() if args.file.exists() else ""
    if committed == expected:
        print(f"{args.file} is current")
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            fromfile=f"{args.file} (committed)",
            tofile=f"{args.file} (from code)",
        )
    )
    print(f"\n{args.file} is stale: run `bountyexpo schema export` and commit it", file=sys.stderr)
    return 1


def schema_diff_command(settings: Settings, args: argparse.Namespace) -> int:
    from graphql import GraphQLError, build_schema

    from app.client_operations import OperationsError, load_operations_from
    from app.operation_impact import impact
    from app.schema_tools import diff_sdl, read_sdl

    try:
        old, new = read_sdl(args.old), read_sdl(args.new)
        changes = diff_sdl(old, new)
        documents = args.operations or _operations_of(args.old)
        operations = load_operations_from(documents)
        felt = impact(build_schema(old), build_schema(new), operations)
    except (FileNotFoundError, OperationsError) as error:
        print(f"bountyexpo: {error}", file=sys.stderr)
        return 2
    except GraphQLError as error:
        print(f"bountyexpo: not valid SDL: {error.message}", file=sys.stderr)
        return 2
    for change in changes.breaking:
        print(f"BREAKING  {change.type.name}: {change.description}")
    for line in felt.breaking:
        print(f"BREAKING  FELT_BY_OPERATION: {line}")
    for dangerous in changes.dangerous:
        print(f"DANGEROUS {dangerous.type.name}: {dangerous.description}")
    for line in felt.dangerous:
        print(f"DANGEROUS READ_BY_OPERATION: {line}")
    if operations:
        print(f"({len(operations)} operations in {documents} checked)")
    if not (changes.breaking or changes.dangerous or felt.breaking or felt.dangerous):
        print("no breaking or dangerous changes")
    return 1 if changes.breaking or felt.breaking else 0


def operations_register_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.security.manifest import ManifestError, register_manifest

    try:
        count = asyncio.run(register_manifest(settings, args.file))
    except (ManifestError, OSError) as error:
        print(f"bountyexpo: {error}", file=sys.stderr)
        return 1
    print(f"{count} trusted operations registered")
    return 0


def _operations_of(old: str) -> str:
    """The documents apps shipped against OLD: `<ref>:clients/operations` for a git ref."""
    if ":" in old and not Path(old).is_file():
        return f"{old.rpartition(':')[0]}:clients/operations"
    return "clients/operations"


def operations_check_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.client_operations import (
        OperationsError,
        check_operations,
        load_operations,
        read_allow_list,
    )
    from app.graphql import build_schema

    try:
        operations = load_operations(args.dir)
        problems = check_operations(build_schema()._schema, operations, read_allow_list(args.dir))
    except OperationsError as error:
        problems = [str(error)]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"{len(operations)} operations in {args.dir} are valid")
    return 0


def operations_manifest_command(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from app.client_operations import (
        OperationsError,
        check_operations,
        load_operations,
        manifest,
        read_allow_list,
    )
    from app.graphql import build_schema

    try:
        operations = load_operations(args.dir)
        problems = check_operations(build_schema()._schema, operations, read_allow_list(args.dir))
    except OperationsError as error:
        problems = [str(error)]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    text = json.dumps(manifest(operations), indent=2) + "\n"
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run `bountyexpo operations manifest`", file=sys.stderr)
            return 1
        print(f"{args.output} is current")
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}: {len(operations)} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
