"""The `werkplaats` console command: serve, load, demo, …. Every command migrates first
(`restore` right after restoring: into an empty database, then up to date)."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import msgspec

from persistence import archive, backup, handshake
from persistence.blobs import BlobStore
from persistence.community import (
    LoadReport,
    PasswordsChanged,
    known_rooms,
    password_hashes,
    upsert_community,
)
from persistence.db import Database
from rooms.community import CommunityError, parse_community
from web import digest, meeting_cli
from web.actions import accounts, archives, dossier, moderation
from web.actions.common import Acting
from web.actions.publish import Published
from web.attachments import Attachments
from web.cliutil import (
    EXIT_USAGE,
    fail,
    notify_servers,
    operator,
    output,
    run_refusable,
    with_db,
)
from web.logs import configure_logging, logging_config
from web.passwords import check_new_password, configure_passwords, plan_passwords
from web.settings import Settings, SettingsError, load_settings

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_SECRET = Path(".werkplaats-demo-secret")


# Attempts of a load whose passwords were changed by someone else between its read and write.
LOAD_ATTEMPTS = 3
# Connections the kernel holds completed for `accept` (capped by `net.core.somaxconn`,
# 4096 by default). uvicorn's 2048 overflowed when thousands of clients reconnected at
# once: the kernel dropped their handshakes, and each came back only when its SYN was
# sent again (after 1 s, then 2 s, 4 s, ... more).
LISTEN_BACKLOG = 16384


async def load_file(db: Database, path: Path) -> LoadReport:
    """Validate the whole file, then upsert it in one transaction (all or nothing).

    Passwords are verified and hashed between a read and the write, never inside the
    write transaction (which would hold the write lock and a pooled connection meanwhile).
    """
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommunityError(f"{path}: cannot read: {exc}") from None
    for _ in range(LOAD_ATTEMPTS):
        async with db.read() as session:
            community = parse_community(
                text, str(path), await known_rooms(session), check_new_password
            )
            stored = await password_hashes(session, (u.username for u in community.users))
        plans = await plan_passwords(community.users, stored)
        try:
            async with db.write() as session:
                # Parsed again against the rooms as they are now, inside the write.
                community = parse_community(text, str(path), await known_rooms(session))
                report = await upsert_community(session, community, plans, operator())
        except PasswordsChanged:
            continue
        # A changed meeting keeps its room: this process's set-ups must read meetings again.
        db.part(handshake.MeetingsRead).forget()
        return report
    raise CommunityError(f"{path}: passwords kept changing while loading; nothing was written")


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
        await invite_loaded(settings, db, report)
        # Roles that changed: running servers re-check those users' connections (without
        # Redis they see it in the database within a second).
        await notify_servers(settings, db, Published(access=tuple(report.access)))
        return 0

    return asyncio.run(with_db(settings, job))


async def invite_loaded(settings: Settings, db: Database, report: LoadReport) -> None:
    """Invite the file's users that have no password; print a link whose mail did not go."""
    from web import accountmail

    source = operator()
    invited = await accounts.invite_passwordless(
        db, Acting(source), settings.secret_key, report.passwordless
    )
    base = settings.public_url or "http://localhost:8000"
    for one in invited:
        url, sent = await accountmail.send_invitation(
            settings, base, one, "De Werkplaats", accounts.INVITATION_DAYS
        )
        print(f"invited {one.email}" + ("" if sent else f" (not mailed; pass on: {url})"))


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from web.demo import demo_day, load_demo, place_meetings, publish_demo_report, render_community

    async def job(db: Database) -> int:
        today = demo_day()
        text = render_community((DEMO_DIR / "community.toml").read_text(encoding="utf-8"), today)
        with tempfile.TemporaryDirectory(prefix="werkplaats-demo-") as folder:
            placed = Path(folder) / "community.toml"
            placed.write_text(text, encoding="utf-8")
            report = await load_file(db, placed)
        await place_meetings(db, today)
        added = await load_demo(db, today)
        await notify_servers(settings, db, await publish_demo_report(db, Acting(operator()), today))
        print(f"Demo community loaded: {describe(report)}; {added} demo messages added.")
        print("Demo logins (username / password):")
        for username, password, what in demo_logins():
            print(f"  {username:<10} {password:<22} {what}")
        return 0

    return asyncio.run(with_db(settings, job))


def clamd_answers(settings: Settings) -> bool:
    """Whether clamd listens where the settings say."""
    try:
        socket.create_connection((settings.clamd_host, settings.clamd_port), timeout=0.5).close()
    except OSError:
        return False
    return True


def demo_logins() -> list[tuple[str, str, str]]:
    from web.demo import DEMO_LOGINS

    return DEMO_LOGINS


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from web.proxies import forwarded_allow_ips

    if args.workers > 1 and not settings.uses_redis:
        return fail(
            f"--workers {args.workers} needs a broker shared by the processes: "
            "set WERKPLAATS_REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
        )
    if args.trusted_proxies:
        # The workers read their settings from the environment: pass the option on, and
        # validate it as the variable is.
        os.environ["WERKPLAATS_TRUSTED_PROXIES"] = args.trusted_proxies
        try:
            settings = load_settings(require_secret=True)
        except SettingsError as exc:
            return fail(str(exc))

    async def job(db: Database) -> int:
        return 0

    asyncio.run(with_db(settings, job))
    raise_descriptor_limit()
    with metrics_dir(args.workers):
        uvicorn.run(
            "web.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            # Applied by uvicorn in this process and again in every worker it spawns.
            log_config=logging_config(settings),
            log_level=settings.log_level.lower(),
            # Our own request log (web.requestlog) replaces uvicorn's access log.
            access_log=False,
            ws_per_message_deflate=False,
            ws_max_size=settings.max_frame_bytes,
            timeout_graceful_shutdown=10,
            backlog=LISTEN_BACKLOG,
            # A worker answers uvicorn's health check only once it has imported everything:
            # on a loaded machine that took over 5 s (the default), and the parent killed
            # every worker while it was still starting, over and over.
            timeout_worker_healthcheck=30,
            # X-Forwarded-For/-Proto only from the proxies named (uvicorn's default trusts
            # loopback).
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=forwarded_allow_ips(settings.trusted_proxies),
            server_header=False,
            http="web.guard:GuardedHttpToolsProtocol",
            ws="web.wsclose:ClosingSansIOProtocol",
        )
    return 0


def raise_descriptor_limit() -> tuple[int, int]:
    """Raise this process's open-file limit to its hard limit (the workers inherit it):
    every WebSocket holds a descriptor, and the usual soft limit (1,024) would refuse
    the 1,025th. Returns (soft, hard) as they are now."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # not allowed here (a container's policy): keep what there is
    return soft, hard


@contextmanager
def metrics_dir(workers: int) -> Iterator[None]:
    """With several workers, a fresh PROMETHEUS_MULTIPROC_DIR for this start (web.metrics),
    set before they spawn and removed when serving ends; one process needs none."""
    if workers < 2:
        yield
        return
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="werkplaats-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def demo_secret(path: Path = DEMO_SECRET) -> str:
    """The demo's session key: made once, kept beside the demo database (mode 0600)."""
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(key + "\n", encoding="utf-8")
    return key


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        try:
            await backup.backup(settings.database_url, Path(args.file))
        except backup.BackupError as exc:
            return fail(str(exc))
        print(
            f"{args.file}: backup of the {backup.backend(settings.database_url)} database written"
        )
        return 0

    return asyncio.run(with_db(settings, job))


def _margin(value: str) -> int:
    """`--seq-margin`: a whole number of seqs, 0 up to a billion (argparse: exit status 2)."""
    try:
        margin = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 0 <= margin <= 10**9:
        raise argparse.ArgumentTypeError(f"{margin} is outside 0..1000000000")
    return margin


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    try:
        asyncio.run(backup.restore(settings.database_url, Path(args.file), force=args.force))
    except backup.BackupError as exc:
        return fail(str(exc))

    async def job(db: Database) -> int:
        moved = await backup.advance_seqs(settings.database_url, args.seq_margin)
        print(f"{args.file}: restored and migrated; {moved} rooms' seqs moved {args.seq_margin} on")
        return 0

    return asyncio.run(with_db(settings, job))


def _zip_output(args: argparse.Namespace) -> Path | None:
    """Where `--with-files` writes its ZIP; None (after saying why) when it cannot."""
    if not args.output:
        fail("--with-files: name the ZIP archive to write with --output")
        return None
    out = Path(args.output)
    if not out.parent.is_dir():
        fail(f"--output {out}: folder {out.parent} does not exist")
        return None
    return out


@asynccontextmanager
async def _attachments(settings: Settings) -> AsyncIterator[Attachments]:
    """The configured attachments (their blob store), started, and closed after."""
    files = Attachments.from_settings(settings)
    await files.start()
    try:
        yield files
    finally:
        await files.close()


def _with_files(
    settings: Settings,
    args: argparse.Namespace,
    run: Callable[[Database, BlobStore, Path], Awaitable[archives.Written]],
) -> int:
    """Run an export that writes a ZIP with the files to `--output`, the blob store opened
    around it (exit status 2 when `--output` names no place to write it)."""
    out = _zip_output(args)
    if out is None:
        return EXIT_USAGE

    async def job(db: Database) -> int:
        async with _attachments(settings) as files:
            written = await run(db, files.store, out)
        print(f"{written.path}: {written.files} files with their sha256", file=sys.stderr)
        return 0

    return run_refusable(settings, job)


def cmd_export_room(settings: Settings, args: argparse.Namespace) -> int:
    options = {"fmt": args.format, "include_hidden": args.include_hidden, "reason": args.reason}
    if args.with_files:
        return _with_files(
            settings,
            args,
            lambda db, store, out: archives.export_room(
                db, store, args.slug, out, operator(), **options
            ),
        )

    async def job(db: Database) -> int:
        with output(args.output) as out:
            count = await archives.write_room_export(db, args.slug, out, operator(), **options)
        print(f"{args.slug}: {count} events exported", file=sys.stderr)
        return 0

    return run_refusable(settings, job)


def cmd_export_user(settings: Settings, args: argparse.Namespace) -> int:
    if args.with_files:
        return _with_files(
            settings,
            args,
            lambda db, store, out: archives.export_user(
                db, store, args.username, out, operator(), reason=args.reason
            ),
        )

    async def job(db: Database) -> int:
        with output(args.output) as out:
            await archives.write_user_export(db, args.username, out, operator(), reason=args.reason)
        return 0

    return run_refusable(settings, job)


def cmd_export_meeting(settings: Settings, args: argparse.Namespace) -> int:
    version = "openbaar" if args.public else "volledig"
    out = Path(args.output or f"dossier-{args.slug}-{version}.zip")
    if not out.parent.is_dir():
        return fail(f"--output {out}: folder {out.parent} does not exist")

    async def job(db: Database) -> int:
        async with _attachments(settings) as files:
            written = await dossier.export_meeting(
                db, files.store, args.slug, out, operator(), public=args.public
            )
        print(f"{written.path}: {written.records} records ({version})", file=sys.stderr)
        return 0

    return run_refusable(settings, job)


def cmd_pseudonymise(settings: Settings, args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        new, done = await accounts.pseudonymise(db, Acting(operator()), args.username, args.reason)
        await notify_servers(settings, db, done)
        print(f"{args.username} is now {new}; sessions ended, name and password removed")
        return 0

    return run_refusable(settings, job)


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        async with _attachments(settings) as files:
            count = await archive.purge(
                db,
                args.older_than,
                operator(),
                reason=args.reason,
                dry_run=args.dry_run,
                remove_blobs=files.remove_blobs,
            )
        verb = "would be blanked" if args.dry_run else "blanked"
        print(f"{count} messages older than {args.older_than} days {verb}")
        return 0

    return run_refusable(settings, job)


def cmd_members(settings: Settings, args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        who = Acting(operator())
        *_, done = await moderation.change_member(
            db, who, args.action, args.slug, args.username, args.reason
        )
        await notify_servers(settings, db, done)
        done_to = "added to" if args.action == "add" else "removed from"
        print(f"{args.username} {done_to} {args.slug}")
        return 0

    return run_refusable(settings, job)


def cmd_users(settings: Settings, args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        disable = args.action == "disable"
        who = Acting(operator())
        done = await accounts.set_account_disabled(db, who, args.username, disable, args.reason)
        # Its sockets close with 1008 on every process (without Redis: within a second).
        await notify_servers(settings, db, done)
        print(f"{args.username} {'disabled' if disable else 'enabled'}")
        return 0

    return run_refusable(settings, job)


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from persistence.search import index as search_index

    async def job(db: Database) -> int:
        total = await search_index.message_count(db)
        with tqdm(total=total, unit="msg", desc="reindex", file=sys.stderr) as bar:
            count = await search_index.reindex(db, progress=bar.update)
        print(f"search index rebuilt for {count} messages")
        return 0

    return asyncio.run(with_db(settings, job))


def add_archive_commands(sub: Any) -> None:
    """The moderation, archive and privacy subcommands."""
    export = sub.add_parser("export-room", help="a room's history as Markdown or JSON (Woo)")
    export.add_argument("slug")
    export.add_argument("--format", choices=["md", "json"], default="md")
    export.add_argument(
        "--include-hidden", action="store_true", help="include hidden text (audited)"
    )
    export.add_argument("--output", help="write to this file instead of stdout")
    export.add_argument(
        "--with-files",
        action="store_true",
        help="write a ZIP (--output) with the files and a sha256 manifest",
    )
    export.set_defaults(run=cmd_export_room)
    user = sub.add_parser("export-user", help="all of a user's data as JSON (AVG art. 15)")
    user.add_argument("username")
    user.add_argument("--output", help="write to this file instead of stdout")
    user.add_argument(
        "--with-files",
        action="store_true",
        help="write a ZIP (--output) with their files and a sha256 manifest",
    )
    user.set_defaults(run=cmd_export_user)
    meeting = sub.add_parser(
        "export-meeting", help="a meeting's dossier as one ZIP with a sha256 manifest (Woo)"
    )
    meeting.add_argument("slug")
    meeting.add_argument(
        "--public", action="store_true", help="names reduced to organisation and layer"
    )
    meeting.add_argument("--output", help="the ZIP to write (default dossier-SLUG-….zip)")
    meeting.set_defaults(run=cmd_export_meeting)
    pseudo = sub.add_parser("pseudonymise", help="anonymise an account (AVG art. 17)")
    pseudo.add_argument("username")
    pseudo.set_defaults(run=cmd_pseudonymise)
    purge = sub.add_parser("purge", help="blank message text older than DAYS (retention)")
    purge.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    purge.add_argument("--dry-run", action="store_true", help="only count what would go")
    purge.set_defaults(run=cmd_purge)
    members = sub.add_parser("members", help="add or remove a team member of an area room")
    members.add_argument("action", choices=["add", "remove"])
    members.add_argument("slug")
    members.add_argument("username")
    members.set_defaults(run=cmd_members)
    users = sub.add_parser("users", help="disable an account (no login, sessions end) or enable it")
    users.add_argument("action", choices=["disable", "enable"])
    users.add_argument("username")
    users.set_defaults(run=cmd_users)
    for command in (export, meeting, user, pseudo, purge, members, users):
        command.add_argument("--reason", default="", help="why, for the audit log")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="werkplaats", description="De Werkplaats discussion server.")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate, then serve HTTP, /ws and the web client")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--trusted-proxies",
        metavar="ADDRS",
        help="comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For/-Proto are believed (also WERKPLAATS_TRUSTED_PROXIES)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="the local demo (make run): without WERKPLAATS_SECRET_KEY, a key kept in "
        f"{DEMO_SECRET.name} is used",
    )
    serve.set_defaults(run=cmd_serve)
    load = sub.add_parser("load", help="upsert areas, themes, meetings and users from a TOML file")
    load.add_argument("file")
    load.set_defaults(run=cmd_load)
    demo = sub.add_parser("demo", help="load the bundled demo community and print its logins")
    demo.set_defaults(run=cmd_demo)
    reindex = sub.add_parser("reindex", help="rebuild the search index, with a progress bar")
    reindex.set_defaults(run=cmd_reindex)
    dump = sub.add_parser("backup", help="write a backup of the whole database to FILE")
    dump.add_argument("file")
    dump.set_defaults(run=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup into an empty database, migrate")
    restore.add_argument("file")
    restore.add_argument("--force", action="store_true", help="replace a database holding data")
    restore.add_argument(
        "--seq-margin", type=_margin, default=backup.SEQ_MARGIN, metavar="N",
        help="move every room's seq this far on, past seqs handed out after the backup "
        f"(default {backup.SEQ_MARGIN}; 0: not at all)",
    )  # fmt: skip
    restore.set_defaults(run=cmd_restore)
    add_archive_commands(sub)
    digest.add_parser(sub)
    meeting_cli.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    demo = args.command == "demo" or getattr(args, "demo", False)
    if demo and not os.environ.get("WERKPLAATS_SECRET_KEY"):
        os.environ["WERKPLAATS_SECRET_KEY"] = demo_secret()
    if args.command == "serve" and args.demo:
        os.environ["WERKPLAATS_DEMO"] = "true"  # the workers read the environment
    try:
        # Outside the demo a session key is required: an empty one would make every
        # session token's stored hash guessable from the token alone.
        settings = load_settings(require_secret=args.command == "serve")
    except SettingsError as exc:
        return fail(str(exc))
    if demo and settings.files_scan and "WERKPLAATS_FILES_SCAN" not in os.environ:
        if not clamd_answers(settings):
            # `make run` needs no services: the demo stores unscanned uploads, and says so.
            print("demo: clamd is not running, so uploads are not virus-scanned", file=sys.stderr)
            os.environ["WERKPLAATS_FILES_SCAN"] = "false"  # the workers read the environment
            settings = msgspec.structs.replace(settings, files_scan=False)
    configure_passwords(settings)
    configure_logging(settings)
    if args.command == "serve" and args.workers < 1:
        return fail("--workers must be at least 1")
    result: int = args.run(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())
