"""Several hosts on one machine: network namespaces on a bridge, each with its own address.

    lb     10.231.N.10   Debian's nginx with docs/nginx/werkplaats.conf (TLS on 443)
    app1   10.231.N.11   werkplaats serve --workers 2
    app2   10.231.N.12   werkplaats serve --workers 2
    db     10.231.N.20   a PostgreSQL cluster of the topology's own (initdb in a temp folder)
    redis  10.231.N.30   redis-server without persistence
    root   10.231.N.1    the bridge: the clients, and a fault proxy per (application host,
                         dependency) pair (`tests/net/faultproxy.py`)

Each namespace is joined to the bridge by a veth pair (iproute2). The application hosts
reach PostgreSQL and Redis only through their own proxies on 10.231.N.1, so a fault can hit
one host's path and not the other's; `isolate(host)` sets the host's link down, which cuts it
off from everything at the kernel's level (packets vanish, no RST). N is taken from the
process id, so two runs on one machine do not meet. Everything needs root (namespaces); the
database runs as the `postgres` user, because initdb refuses root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.net.faultproxy import FaultProxy, ProxyThread
from tests.ops.tls import make_certificate

ROOT = Path(__file__).resolve().parent.parent.parent
WERKPLAATS = str(Path(sys.executable).parent / "werkplaats")
NGINX = "/usr/sbin/nginx"
DOCUMENTED_NGINX = ROOT / "docs" / "nginx" / "werkplaats.conf"
PASSWORD = "net-password"
HOSTS = {"lb": 10, "app1": 11, "app2": 12, "db": 20, "redis": 30}
APP_PORT, PG_PORT, REDIS_PORT = 8000, 5432, 6379


def available() -> str | None:
    """Why the topology cannot be built here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None or not Path(NGINX).exists():
        return "iproute2 and nginx are needed"
    if not postgres_bin() or shutil.which("redis-server") is None:
        return "PostgreSQL's binaries and redis-server are needed"
    return None


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def free_net() -> int:
    """A third octet for 10.231.N.0/24 whose bridge does not exist, tried from a number the
    pid picks: a run that took a number in use would first remove "its" leftovers, which
    were another run's network."""
    taken = {int(m.group(1)) for p in Path("/sys/class/net").iterdir()
             if (m := re.fullmatch(r"wn(\d+)br", p.name))}  # fmt: skip
    start = os.getpid() % 235
    for i in range(235):
        net = 20 + (start + i) % 235
        if net not in taken:
            return net
    raise RuntimeError("no free 10.231.N.0/24 in 20..254")


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def community(users: int, rooms: int, admins: tuple[str, ...] = ()) -> str:
    parts = [f'[[theme]]\nslug = "net-{r}"\nname = "Net {r}"\n' for r in range(rooms)]
    parts += [
        f'[[user]]\nusername = "net{u:03d}"\ndisplay_name = "Net {u}"\n'
        f'organisation = "Net"\nlayer = "overig"\npassword = "{PASSWORD}"\n'
        + ('role = "admin"\n' if f"net{u:03d}" in admins else "")
        for u in range(users)
    ]
    return "\n".join(parts)


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


@dataclass
class Topology:
    """The hosts, their processes and proxies; `start()` builds it all, `stop()` removes it."""

    workdir: Path
    users: int = 20
    rooms: int = 4
    workers: int = 2
    settings: dict[str, str] = field(default_factory=dict)  # extra WERKPLAATS_* for the apps
    # Extra WERKPLAATS_* for one application host only ("app1": {...}).
    app_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    admins: tuple[str, ...] = ()  # users loaded with the admin role
    # The source tree the apps and commands run (a release, tests/net/releases.py), put
    # before this checkout on their PYTHONPATH; None: this checkout.
    release: Path | None = None
    community_toml: str | None = None  # `werkplaats load` input instead of community()
    clamd: tuple[str, int] | None = None  # the root namespace's clamd, proxied to the apps
    net: int = field(default_factory=lambda: free_net())
    processes: dict[str, Process] = field(default_factory=dict)
    proxies: ProxyThread | None = None

    # -- addresses -----------------------------------------------------------------------

    def ip(self, host: str) -> str:
        return f"10.231.{self.net}.{HOSTS.get(host, 1)}"

    def ns(self, host: str) -> str:
        return f"wn{self.net}-{host}"

    def veth(self, host: str) -> str:
        return f"wn{self.net}{host}"  # the bridge's end (<= 15 characters)

    @property
    def bridge(self) -> str:
        return f"wn{self.net}br"

    @property
    def base(self) -> str:
        """Where the clients reach the site: nginx's TLS listener."""
        return f"https://{self.ip('lb')}"

    def app_url(self, host: str) -> str:
        return f"http://{self.ip(host)}:{APP_PORT}"

    @property
    def db_dsn(self) -> str:
        """The database, straight from the root namespace (for the suite's checks)."""
        return f"postgresql://postgres@{self.ip('db')}:{PG_PORT}/werkplaats"

    # -- building ------------------------------------------------------------------------

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.remove_network()  # what a crashed earlier run of this pid left
        try:
            self._network()
            self.proxies = ProxyThread()
            for app in ("app1", "app2"):
                for dep, port in (("db", PG_PORT), ("redis", REDIS_PORT)):
                    self.proxies.add(f"{app}-{dep}", (self.ip("root"), 0), (self.ip(dep), port))
                if self.clamd is not None:  # loopback is each namespace's own: via the bridge
                    self.proxies.add(f"{app}-clamd", (self.ip("root"), 0), self.clamd)
            self._postgres()
            self._redis()
            self._load()
            for app in ("app1", "app2"):
                self.start_app(app)
            for app in ("app1", "app2"):
                self.wait_ready(app)
            self._nginx()
        except BaseException:
            self.stop()
            raise

    def _network(self) -> None:
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.ip('root')}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for host in HOSTS:
            ns, outer = self.ns(host), self.veth(host)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", outer, "master", self.bridge, "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.ip(host)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def remove_network(self) -> None:
        for host in HOSTS:
            with contextlib.suppress(subprocess.CalledProcessError):
                sh("ip", "netns", "del", self.ns(host))
        with contextlib.suppress(subprocess.CalledProcessError):
            sh("ip", "link", "del", self.bridge)

    def spawn(self, name: str, host: str, argv: list[str], env: dict[str, str] | None = None,
              as_user: str | None = None) -> Process:  # fmt: skip
        """Start `argv` in the host's namespace (as `as_user`), its output in a log file."""
        prefix = ["ip", "netns", "exec", self.ns(host)]
        if as_user is not None:
            prefix += ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--init-groups"]
        log = self.workdir / f"{name}.log"
        with log.open("ab") as out:
            # A process group of its own: stopping it also ends workers a supervisor left.
            proc = subprocess.Popen(
                [*prefix, *argv],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        self.processes[name] = Process(name, proc, log)
        return self.processes[name]

    def _postgres(self) -> None:
        # The folder is the postgres user's: initdb refuses root, and pytest's tmp is private.
        data = Path(tempfile.mkdtemp(prefix="wn-pg-"))
        shutil.chown(data, "postgres", "postgres")
        self.pgdata = data
        self.create_database()

    def create_database(self) -> None:
        """A new cluster in the database host's folder, started, with an empty database."""
        bindir = postgres_bin()
        assert bindir is not None
        data = self.pgdata
        subprocess.run(
            ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
             str(bindir / "initdb"), "-D", str(data / "data"), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        with (data / "data" / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all 10.231.{self.net}.0/24 trust\n")
        self.start_postgres()
        self.wait_postgres()
        sh(str(bindir / "createdb"), "-h", self.ip("db"), "-U", "postgres", "werkplaats")

    def destroy_database(self) -> None:
        """The database host is lost: PostgreSQL killed, its data gone."""
        self._end(self.processes.pop("postgres"), signal.SIGKILL, 10)
        shutil.rmtree(self.pgdata / "data")

    def wait_postgres(self, timeout: float = 60) -> None:
        """Until the cluster accepts connections (listening comes before that)."""
        bindir = postgres_bin()
        assert bindir is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(bindir / "pg_isready"), "-q", "-h", self.ip("db"), "-p", str(PG_PORT)],
                timeout=10,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("PostgreSQL did not start")

    def start_postgres(self) -> None:
        bindir = postgres_bin()
        assert bindir is not None
        self.spawn(
            "postgres", "db",
            [str(bindir / "postgres"), "-D", str(self.pgdata / "data"),
             "-c", f"listen_addresses={self.ip('db')}", "-c", f"port={PG_PORT}",
             "-c", f"unix_socket_directories={self.pgdata}", "-c", "max_connections=200",
             # The server side's own dead-peer detection (an application host cut off).
             "-c", "tcp_keepalives_idle=5", "-c", "tcp_keepalives_interval=2",
             "-c", "tcp_keepalives_count=3"],
            as_user="postgres",
        )  # fmt: skip

    def _redis(self) -> None:
        self.spawn(
            "redis", "redis",
            ["redis-server", "--bind", self.ip("redis"), "--port", str(REDIS_PORT),
             "--save", "", "--appendonly", "no", "--protected-mode", "no",
             "--tcp-keepalive", "5"],
        )  # fmt: skip
        self._wait_port(self.ip("redis"), REDIS_PORT, "redis")

    def app_env(self, app: str) -> dict[str, str]:
        assert self.proxies is not None
        pg = self.proxies.proxies[f"{app}-db"].listen
        rd = self.proxies.proxies[f"{app}-redis"].listen
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("WERKPLAATS_")},
            "WERKPLAATS_DATABASE_URL": f"postgresql+asyncpg://postgres@{pg[0]}:{pg[1]}/werkplaats",
            "WERKPLAATS_REDIS_URL": f"redis://{rd[0]}:{rd[1]}/0",
            "WERKPLAATS_SECRET_KEY": "net-topology-secret-key",
            "WERKPLAATS_PUBLIC_URL": self.base,
            "WERKPLAATS_TRUSTED_PROXIES": self.ip("lb"),
            "WERKPLAATS_LOG_LEVEL": "INFO",
            "WERKPLAATS_ARGON2_TIME_COST": "1",
            "WERKPLAATS_ARGON2_MEMORY_KIB": "8192",
            "WERKPLAATS_LOGIN_ADDRESS_MAX_FAILURES": "10000",
            "WERKPLAATS_WS_MAX_PER_ADDRESS": "10000",
            **({"PYTHONPATH": str(self.release)} if self.release is not None else {}),
            **self.clamd_env(app),
            **self.settings,
            **self.app_settings.get(app, {}),
        }

    def clamd_env(self, app: str) -> dict[str, str]:
        if self.clamd is None:
            return {}
        assert self.proxies is not None
        host, port = self.proxies.proxies[f"{app}-clamd"].listen
        return {"WERKPLAATS_CLAMD_HOST": host, "WERKPLAATS_CLAMD_PORT": str(port)}

    def _load(self) -> None:
        file = self.workdir / "community.toml"
        file.write_text(self.community_toml or community(self.users, self.rooms, self.admins))
        self.cli("load", str(file))

    def cli(self, *args: str) -> None:
        """A `werkplaats` command run by an operator, on the database straight (no proxy)."""
        env = self.app_env("app1")
        env["WERKPLAATS_DATABASE_URL"] = "postgresql+asyncpg://" + self.db_dsn.split("://")[1]
        done = subprocess.run(
            [WERKPLAATS, *args], env=env, cwd=ROOT, capture_output=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"werkplaats {args[0]} failed: {done.stderr.decode()[-2000:]}")

    def start_app(self, app: str) -> None:
        self.spawn(
            app, app,
            [WERKPLAATS, "serve", "--host", self.ip(app), "--port", str(APP_PORT),
             "--workers", str(self.workers)],
            env=self.app_env(app),
        )  # fmt: skip

    def stop_app(self, app: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        self._end(self.processes.pop(app), sig, timeout)

    def wait_ready(self, app: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        proc = self.processes[app]
        while time.monotonic() < deadline:
            if proc.proc.poll() is not None:
                raise RuntimeError(f"{app} exited: {proc.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.app_url(app)}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{app} not ready: {proc.log.read_text()[-2000:]}")

    # -- nginx -----------------------------------------------------------------------------

    def nginx_conf(self, drained: tuple[str, ...] = ()) -> str:
        """The documented configuration with this topology's addresses; `drained` marked down."""
        text = DOCUMENTED_NGINX.read_text()
        lb = self.ip("lb")
        swaps = [
            ("    listen 80;\n", f"    listen {lb}:80;\n"),
            ("    listen [::]:80;\n", ""),
            ("    listen 443 ssl http2;\n", f"    listen {lb}:443 ssl http2;\n"),
            ("    listen [::]:443 ssl http2;\n", ""),
            ("/etc/ssl/werkplaats/fullchain.pem", str(self.cert)),
            ("/etc/ssl/werkplaats/chain.pem", str(self.cert)),
            ("/etc/ssl/werkplaats/privkey.pem", str(self.key)),
            ("/var/log/nginx/", f"{self.nginx_prefix}/logs/"),
        ]
        for app, documented in (("app1", "10.0.0.11"), ("app2", "10.0.0.12")):
            down = " down" if app in drained else ""
            swaps.append((f"server {documented}:8000 ", f"server {self.ip(app)}:{APP_PORT}{down} "))
        for old, new in swaps:
            assert old in text, f"{DOCUMENTED_NGINX} no longer contains {old!r}"
            text = text.replace(old, new)
        assert not re.search(r"\b10\.0\.0\.\d+:", text), "an upstream server was not swapped"
        return text

    def _nginx(self) -> None:
        prefix = self.nginx_prefix = self.workdir / "nginx"
        for sub in ("conf", "logs", "temp"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        self.cert, self.key = make_certificate(self.workdir, ips=(self.ip("lb"),))
        (prefix / "conf" / "werkplaats.conf").write_text(self.nginx_conf())
        temp = prefix / "temp"
        (prefix / "conf" / "nginx.conf").write_text(
            f"user root;\ndaemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/logs/error.log notice;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    client_body_temp_path {temp}/body;\n    proxy_temp_path {temp}/proxy;\n"
            f"    fastcgi_temp_path {temp}/fastcgi;\n    uwsgi_temp_path {temp}/uwsgi;\n"
            f"    scgi_temp_path {temp}/scgi;\n    access_log {prefix}/logs/access.log;\n"
            f"    include {prefix}/conf/werkplaats.conf;\n"
            "}\n"
        )
        self.spawn("nginx", "lb", [NGINX, "-p", str(prefix), "-c", str(prefix / "conf/nginx.conf")])
        self._wait_port(self.ip("lb"), 443, "nginx")

    def reload_nginx(self, drained: tuple[str, ...] = (), timeout: float = 30) -> None:
        """Rewrite the configuration (`drained` hosts marked down) and reload nginx (SIGHUP);
        returns once the new workers run and the old ones have been told to quit (they
        accept nothing new from then on, and keep the connections they have)."""
        (self.nginx_prefix / "conf" / "werkplaats.conf").write_text(self.nginx_conf(drained))
        log = self.nginx_prefix / "logs" / "error.log"

        def counts() -> tuple[int, int]:
            text = log.read_text(errors="replace")
            return text.count("start worker process "), text.count("gracefully shutting down")

        before = counts()
        self.processes["nginx"].proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while not all(now > then for now, then in zip(counts(), before, strict=True)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"nginx did not reload: {log.read_text()[-2000:]}")
            time.sleep(0.05)

    # -- faults ----------------------------------------------------------------------------

    def proxy(self, name: str) -> FaultProxy:
        assert self.proxies is not None
        return self.proxies.proxies[name]

    def fault(self, name: str, what: str, *args: object) -> None:
        """Call a fault (`blackhole`, `latency`, `cut`, `half_open`, `heal`) on a proxy."""
        assert self.proxies is not None
        proxy = self.proxy(name)
        self.proxies.call(lambda: getattr(proxy, what)(*args))

    def isolate(self, host: str) -> None:
        """Cut the host off from everything: its link down, packets vanish without an RST."""
        sh("ip", "link", "set", self.veth(host), "down")

    def reconnect(self, host: str) -> None:
        sh("ip", "link", "set", self.veth(host), "up")

    # -- teardown --------------------------------------------------------------------------

    def _wait_port(self, host: str, port: int, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.processes[name].proc
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.processes[name].log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
                return
            time.sleep(0.05)
        raise TimeoutError(f"{name} did not listen on {host}:{port}")

    @staticmethod
    def _end(process: Process, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if process.proc.poll() is None:
            process.proc.send_signal(sig)
        try:
            process.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            process.proc.kill()
            process.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.proc.pid, signal.SIGKILL)  # whatever of the group is left

    def stop(self) -> None:
        for name in ("nginx", "app1", "app2", "redis", "postgres"):
            if name in self.processes:
                with contextlib.suppress(Exception):
                    self._end(self.processes.pop(name), signal.SIGTERM, 20)
        for process in list(self.processes.values()):
            with contextlib.suppress(Exception):
                self._end(process, signal.SIGKILL, 10)
        if self.proxies is not None:
            self.proxies.stop()
            self.proxies = None
        self.remove_network()
        if getattr(self, "pgdata", None) is not None:
            shutil.rmtree(self.pgdata, ignore_errors=True)
