"""The `werkplaats` console command: serve, load, demo. Every command migrates first."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from persistence.community import LoadReport, known_rooms, upsert_community
from persistence.db import Database
from persistence.migrate import migrate
from rooms.community import CommunityError, parse_community
from web.passwords import hash_password_async, verify_password_async
from web.settings import Settings, SettingsError, load_settings

EXIT_USAGE = 2
DEMO_DIR = Path(__file__).parent / "demo"


def fail(message: str) -> int:
    print(f"werkplaats: {message}", file=sys.stderr)
    return EXIT_USAGE


async def _with_db(settings: Settings, job: Callable[[Database], Awaitable[int]]) -> int:
    db = Database(settings.database_url)
    try:
        await migrate(db.engine)
        return await job(db)
    finally:
        await db.dispose()


async def load_file(db: Database, path: Path) -> LoadReport:
    """Validate the whole file, then upsert it in one transaction (all or nothing)."""
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommunityError(f"{path}: cannot read: {exc}") from None
    async with db.write() as session:
        community = parse_community(text, str(path), await known_rooms(session))
        return await upsert_community(
            session, community, verify_password_async, hash_password_async
        )


def describe(report: LoadReport) -> str:
    if not report.changed:
        return "nothing changed"
    parts = [f"{n} {what} created" for what, n in sorted(report.created.items())]
    parts += [f"{n} {what} updated" for what, n in sorted(report.updated.items())]
    return ", ".join(parts)


def cmd_load(settings: Settings, args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        try:
            report = await load_file(db, Path(args.file))
        except CommunityError as exc:
            return fail(f"{exc} (nothing was written)")
        print(f"{args.file}: {describe(report)}")
        return 0

    return asyncio.run(_with_db(settings, job))


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from web.demo import load_demo

    async def job(db: Database) -> int:
        report = await load_file(db, DEMO_DIR / "community.toml")
        added = await load_demo(db)
        print(f"Demo community loaded: {describe(report)}; {added} demo messages added.")
        print("Demo logins (username / password):")
        for username, password, what in demo_logins():
            print(f"  {username:<10} {password:<22} {what}")
        return 0

    return asyncio.run(_with_db(settings, job))


def demo_logins() -> list[tuple[str, str, str]]:
    from web.demo import DEMO_LOGINS

    return DEMO_LOGINS


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    if args.workers > 1 and not settings.uses_redis:
        return fail(
            f"--workers {args.workers} needs a broker shared by the processes: "
            "set WERKPLAATS_REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
        )

    async def job(db: Database) -> int:
        return 0

    asyncio.run(_with_db(settings, job))
    uvicorn.run(
        "web.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        ws_per_message_deflate=False,
        ws_max_size=settings.max_frame_bytes,
        timeout_graceful_shutdown=10,
        proxy_headers=args.proxy_headers,
        server_header=False,
    )
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="werkplaats", description="De Werkplaats discussion server.")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate, then serve HTTP, /ws and the web client")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-For/Proto from the reverse proxy",
    )
    serve.set_defaults(run=cmd_serve)
    load = sub.add_parser("load", help="upsert areas, themes, meetings and users from a TOML file")
    load.add_argument("file")
    load.set_defaults(run=cmd_load)
    demo = sub.add_parser("demo", help="load the bundled demo community and print its logins")
    demo.set_defaults(run=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return fail(str(exc))
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "serve" and args.workers < 1:
        return fail("--workers must be at least 1")
    result: int = args.run(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())
