#!/usr/bin/env python3
"""Chaos run: prove writeback's delivery guarantee under provider faults, worker kills and a
database restart.

    .venv/bin/python scripts/chaos.py --database postgres --writes 10000
    .venv/bin/python scripts/chaos.py --database sqlite --writes 2000

It starts everything itself: a `writeback sandbox` (Salesforce + HubSpot emulators), a database
(a throwaway PostgreSQL cluster made with initdb/pg_ctl, durable as in production, or a SQLite
file), `writeback migrate`, one API process (`serve --no-worker`) and two `writeback worker`
processes (SQLite: `serve` with its embedded worker plus one worker process). It sets up four
customers, turns the sandbox's faults on (20 % of provider calls by default, answers lost after
the write included; access tokens that die every 30 s), sends N asynchronous writes from
concurrent clients, SIGKILLs a worker three times and restarts PostgreSQL once while they run,
waits until every accepted operation is final, then counts every record in the sandbox.

Exit status 0 only if nothing was lost, nothing was written twice, every accepted write reached
a final state and no record was reported failed although written. docs/reliability.md has the
figures of full runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
CLIENT_ID, CLIENT_SECRET = "chaos-client", "chaos-client-secret"
TERMINAL = ("success", "failure")

# --- options -------------------------------------------------------------------------------


@dataclass
class Options:
    database: str = "postgres"  # postgres | sqlite
    writes: int = 10_000  # write requests (a request sent twice counts once)
    clients: int = 16  # concurrent client tasks
    seed: int = 1
    fault_rate: float = 0.20  # share of provider calls that fail, after-write faults included
    token_lifetime: float = 30.0  # access tokens die this many seconds after issue
    latency_ms: float = 10.0  # added to each provider call (+ up to 20 ms jitter)
    kills: int = 3  # worker SIGKILLs (each worker is restarted)
    db_restarts: int = 1  # PostgreSQL stop, a gap, start (own cluster only)
    db_gap: float = 4.0  # seconds PostgreSQL stays down
    idempotency: str = "on"  # on | off: send a share twice with one Idempotency-Key
    idempotent_share: float = 0.05  # share of writes sent twice with one Idempotency-Key
    lease_seconds: float = 5.0
    provider_timeout: float = 2.0  # WRITEBACK_PROVIDER_TIMEOUT_SECONDS
    sandbox_timeout: float = 3.0  # how long the sandbox's timeout faults keep silent
    commit_timeout: float = 3.0  # WRITEBACK_COMMIT_TIMEOUT_SECONDS: a write then answers 503
    wait_timeout: float = 1800.0  # for every accepted operation to be final
    postgres_url: str | None = None  # an existing server: a fresh database, no restart
    workdir: Path | None = None
    keep: bool = False  # keep the work directory (logs, SQLite file) even on success
    json_out: Path | None = None
    quiet: bool = False
    command: str = ""


def parse_args(argv: list[str] | None = None) -> Options:
    d = Options()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database", choices=["postgres", "sqlite"], default=d.database)
    p.add_argument("--writes", type=int, default=d.writes, help="write requests to send")
    p.add_argument("--clients", type=int, default=d.clients, help="concurrent clients")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--fault-rate", type=float, default=d.fault_rate)
    p.add_argument("--token-lifetime", type=float, default=d.token_lifetime)
    p.add_argument("--latency-ms", type=float, default=d.latency_ms)
    p.add_argument("--kills", type=int, default=d.kills, help="worker SIGKILLs")
    p.add_argument("--db-restarts", type=int, default=d.db_restarts)
    p.add_argument("--db-gap", type=float, default=d.db_gap)
    p.add_argument("--idempotency", choices=["on", "off"], default=d.idempotency)
    p.add_argument("--idempotent-share", type=float, default=d.idempotent_share)
    p.add_argument("--lease-seconds", type=float, default=d.lease_seconds)
    p.add_argument("--provider-timeout", type=float, default=d.provider_timeout)
    p.add_argument("--sandbox-timeout", type=float, default=d.sandbox_timeout)
    p.add_argument("--commit-timeout", type=float, default=d.commit_timeout)
    p.add_argument("--wait-timeout", type=float, default=d.wait_timeout)
    p.add_argument("--postgres-url", default=None, help="use this server (no restart)")
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--json", dest="json_out", type=Path, default=None, help="figures as JSON")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    options = Options(**{k: v for k, v in vars(args).items()})
    raw = sys.argv[1:] if argv is None else argv
    options.command = shlex.join([".venv/bin/python", "scripts/chaos.py", *raw])
    return options


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def say(options: Options, message: str) -> None:
    if not options.quiet:
        print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Process:
    """A child process whose output goes to a log file in the work directory."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = logdir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        log.write(f"--- start {time.strftime('%H:%M:%S')}: {shlex.join(self.args)}\n".encode())
        log.flush()
        self.popen = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, timeout: float = 40.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)


def wait_http(url: str, process: Process | None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process is not None and not process.alive():
            raise RuntimeError(f"{process.name} exited; see {process.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")
        time.sleep(0.1)


class PostgresCluster:
    """A throwaway PostgreSQL cluster in a temp dir, on a free port, durable as in production
    (fsync and synchronous_commit stay on). As root the server runs as the `postgres` user."""

    def __init__(self) -> None:
        initdbs = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        found = str(initdbs[-1]) if initdbs else shutil.which("initdb")
        if not found:
            raise RuntimeError("no PostgreSQL server binaries (initdb) found; use --postgres-url")
        self.bindir = Path(found).parent
        self.as_user: list[str] = []
        base = None
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            base = "/tmp"  # reachable by the postgres user
        self.dir = Path(tempfile.mkdtemp(prefix="chaos-pg-", dir=base))
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = 0
        self.restarts = 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*self.as_user, *args], cwd=self.dir, capture_output=True, check=check, timeout=120
        )

    def start(self) -> str:
        # --no-sync only skips initdb's own fsyncs of the fresh cluster; the server runs with
        # its production defaults (fsync=on, synchronous_commit=on, full_page_writes=on)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        for _ in range(3):
            self.port = free_port()
            if self._pg_ctl_start():
                break
        else:
            raise RuntimeError(f"PostgreSQL did not start; see {self.dir / 'server.log'}")
        self._run(
            str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
            "-U", "postgres", "chaos",
        )  # fmt: skip
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/chaos"

    def _pg_ctl_start(self) -> bool:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c max_connections=300"
        done = self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"),
            "-o", opts, "-w", "-t", "60", "start", check=False,
        )  # fmt: skip
        return done.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
            "stop", check=False,
        )  # fmt: skip

    def restart(self, gap: float) -> None:
        self.stop("fast")
        time.sleep(gap)
        if not self._pg_ctl_start():
            raise RuntimeError(f"PostgreSQL did not come back; see {self.dir / 'server.log'}")
        self.restarts += 1

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new database on an existing PostgreSQL server."""
    import asyncpg
    from sqlalchemy.engine import make_url

    name = "chaos_" + secrets.token_hex(4)

    async def create() -> None:
        conn = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@dataclass
class Stack:
    """Everything the run started, and how to reach it."""

    options: Options
    workdir: Path
    env: dict[str, str]
    database_url: str
    admin_key: str
    sandbox: Process
    sandbox_url: str
    api: Process
    api_url: str
    workers: list[Process]
    cluster: PostgresCluster | None = None
    worker_starts: int = 0

    def new_worker(self, slot: int) -> Process:
        self.worker_starts += 1
        name = f"worker{slot}-{self.worker_starts}"
        args = [sys.executable, "-m", "writeback", "worker"]
        return Process(name, args, self.env, self.workdir).start()

    def stop(self, keep_database: bool = False) -> None:
        for worker in self.workers:
            worker.stop()
        self.api.stop()
        self.sandbox.stop(timeout=10)
        if self.cluster is None:
            return
        if keep_database:
            self.cluster.stop("fast")
            print(f"[chaos] PostgreSQL data kept in {self.cluster.data}", file=sys.stderr)
        else:
            self.cluster.destroy()


@dataclass
class Started:
    """What a half-started stack has to stop if the rest does not start."""

    processes: list[Process] = field(default_factory=list)
    cluster: PostgresCluster | None = None

    def undo(self) -> None:
        for process in reversed(self.processes):
            process.stop(timeout=10)
        if self.cluster is not None:
            self.cluster.destroy()


def start_stack(options: Options, workdir: Path) -> Stack:
    """Sandbox, database, migrations, API, workers: each a process of its own."""
    started = Started()
    try:
        return _start_stack(options, workdir, started)
    except BaseException:
        started.undo()
        raise


def _start_stack(options: Options, workdir: Path, started: Started) -> Stack:
    sandbox_port, api_port = free_port(), free_port()
    sandbox = Process(
        "sandbox",
        [sys.executable, "-m", "writeback", "sandbox", "--port", str(sandbox_port)],
        dict(os.environ),
        workdir,
    ).start()
    started.processes.append(sandbox)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    if options.database == "sqlite":
        database_url = f"sqlite+aiosqlite:///{workdir / 'writeback.db'}"
    elif options.postgres_url:
        database_url = fresh_database(options.postgres_url)
    else:
        started.cluster = PostgresCluster()
        database_url = started.cluster.start()
    admin_key = "wbadmin_" + secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "WRITEBACK_HOME": str(workdir / "home"),
        "WRITEBACK_DATABASE_URL": database_url,
        "WRITEBACK_SECRET_KEY": secrets.token_urlsafe(32),
        "WRITEBACK_ADMIN_KEY": admin_key,
        "WRITEBACK_SANDBOX_URL": sandbox_url,
        "WRITEBACK_JOB_LEASE_SECONDS": str(options.lease_seconds),
        "WRITEBACK_RETRY_BASE_SECONDS": "0.2",
        "WRITEBACK_RETRY_MAX_SECONDS": "3",
        "WRITEBACK_WORKER_POLL_SECONDS": "0.1",
        "WRITEBACK_AUTOBATCH_MINUTE_SECONDS": "2",
        "WRITEBACK_PROVIDER_TIMEOUT_SECONDS": str(options.provider_timeout),
        "WRITEBACK_COMMIT_TIMEOUT_SECONDS": str(options.commit_timeout),
        "WRITEBACK_DRAIN_SECONDS": "5",
    }
    (workdir / "home").mkdir(exist_ok=True)
    migrated = subprocess.run(
        [sys.executable, "-m", "writeback", "migrate"], env=env, capture_output=True, timeout=300
    )
    if migrated.returncode != 0:
        raise RuntimeError("writeback migrate failed:\n" + migrated.stderr.decode()[-3000:])
    sqlite = options.database == "sqlite"
    serve = [sys.executable, "-m", "writeback", "serve", "--port", str(api_port)]
    serve += ["--no-migrate", "--log-level", "warning"]
    api_env = {**env, "WRITEBACK_EMBEDDED_WORKER": "1" if sqlite else "0"}
    api = Process("api", serve if sqlite else [*serve, "--no-worker"], api_env, workdir).start()
    started.processes.append(api)
    stack = Stack(
        options, workdir, env, database_url, admin_key, sandbox, sandbox_url, api,
        f"http://127.0.0.1:{api_port}", [], started.cluster,
    )  # fmt: skip
    for slot in range(1 if sqlite else 2):
        stack.workers.append(stack.new_worker(slot))
        started.processes.append(stack.workers[-1])
    wait_http(f"{sandbox_url}/_sandbox/health", sandbox)
    wait_http(f"{stack.api_url}/healthz", api)
    return stack


# --- customers -----------------------------------------------------------------------------

MANIFEST = """
specVersion: 1.0.0
integrations:
  - name: chaos-sf
    provider: salesforce
    write:
      objects:
        - objectName: contact
        - objectName: account
  - name: chaos-hs
    provider: hubspot
    write:
      objects:
        - objectName: contacts
        - objectName: companies
"""


@dataclass(frozen=True)
class ObjectKind:
    """How one provider object is written and found again in the sandbox."""

    sandbox_name: str  # the admin API's object name
    marker_field: str  # a create's marker goes here
    update_field: str  # an update writes its marker here
    with_email: bool  # creates carry <marker>@chaos.example.com in the email field

    def record(self, marker: str) -> dict[str, Any]:
        record = {self.marker_field: marker}
        if self.with_email:
            record["Email" if self.marker_field == "LastName" else "email"] = email_of(marker)
        return record


OBJECTS = {
    ("salesforce", "contact"): ObjectKind("Contact", "LastName", "Title", True),
    ("salesforce", "account"): ObjectKind("Account", "Name", "Description", False),
    ("hubspot", "contacts"): ObjectKind("contacts", "lastname", "jobtitle", True),
    ("hubspot", "companies"): ObjectKind("companies", "name", "description", False),
}

# customer → (provider, the installation's write objects)
CUSTOMERS: dict[str, tuple[str, dict[str, Any]]] = {
    # Salesforce, contacts reconciled by Email (SOQL); accounts have no reconcile key
    "sf-a": (
        "salesforce",
        {
            "contact": {"objectName": "contact", "reconcileFields": ["Email"]},
            "account": {"objectName": "account"},
        },
    ),
    # Salesforce without reconcileFields at all
    "sf-b": (
        "salesforce",
        {"contact": {"objectName": "contact"}, "account": {"objectName": "account"}},
    ),
    # HubSpot: contacts by their unique email (409 adoption); companies have no key
    "hs-a": (
        "hubspot",
        {"contacts": {"objectName": "contacts"}, "companies": {"objectName": "companies"}},
    ),
    # HubSpot, companies reconciled by name (search API)
    "hs-b": (
        "hubspot",
        {
            "contacts": {"objectName": "contacts"},
            "companies": {"objectName": "companies", "reconcileFields": ["name"]},
        },
    ),
}


@dataclass
class Customer:
    name: str
    provider: str
    integration_id: str
    installation_id: str
    group_ref: str
    tenant_id: str
    write_objects: dict[str, Any]

    def keyed(self, object_name: str) -> bool:
        """A create of this object can be found again after a lost answer."""
        if self.provider == "hubspot" and object_name == "contacts":
            return True  # email is unique in every portal
        return bool(self.write_objects[object_name].get("reconcileFields"))


@dataclass
class Setup:
    project_id: str
    api_key: str
    customers: dict[str, Customer]


def check(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in expected:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered"
            f" {response.status_code}: {response.text[:500]}"
        )
    return response.json() if response.content else None


def set_up_customers(stack: Stack, run: str) -> Setup:
    """A project, its key, provider apps, the manifest, and one installation per customer,
    exactly as a builder does it over HTTP."""
    admin = httpx.Client(
        base_url=stack.api_url + "/v1", headers={"X-Api-Key": stack.admin_key}, timeout=60
    )
    sandbox = httpx.Client(base_url=stack.sandbox_url, timeout=60)
    with admin, sandbox:
        project = check(
            admin.post("/projects", json={"name": f"chaos-{run}", "appName": "chaos"}), 201
        )
        p = f"/projects/{project['id']}"
        key = check(admin.post(f"{p}/api-keys", json={"label": "chaos"}), 201)["key"]
        for provider in ("salesforce", "hubspot"):
            app = {"provider": provider, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
            check(admin.post(f"{p}/provider-apps", json={**app, "scopes": ["oauth"]}), 200)
        deployed = check(admin.put(f"{p}/integrations:batch", json={"sourceYaml": MANIFEST}), 200)
        integrations = {i["name"]: i["id"] for i in deployed}
        customers = {}
        for name, (provider, write_objects) in CUSTOMERS.items():
            tenant = check(
                sandbox.post(
                    "/_sandbox/tenants",
                    json={
                        "provider": provider,
                        "clientId": CLIENT_ID,
                        "clientSecret": CLIENT_SECRET,
                    },
                ),
                201,
            )
            if provider == "salesforce":
                # no duplicate rule: a create sent twice must show up as two records, not be
                # stopped by the CRM (which would hide the resend)
                check(
                    sandbox.patch(
                        f"/_sandbox/tenants/{tenant['tenantId']}/settings",
                        json={"duplicateRules": {}},
                    ),
                    200,
                )
            group_ref = f"{name}-{run}"
            body: dict[str, Any] = {
                "groupRef": group_ref,
                "groupName": name,
                "consumerRef": "chaos",
                "provider": provider,
                "oauth2AuthorizationCode": {
                    "accessToken": {"token": tenant["accessToken"]},
                    "refreshToken": {"token": tenant["refreshToken"]},
                },
            }
            if provider == "salesforce":
                body["providerMetadata"] = {"instanceUrl": {"value": tenant["instanceUrl"]}}
            check(admin.post(f"{p}/connections:generate", json=body), 201)
            integration_id = integrations["chaos-sf" if provider == "salesforce" else "chaos-hs"]
            installation = check(
                admin.post(
                    f"{p}/integrations/{integration_id}/installations",
                    json={
                        "groupRef": group_ref,
                        "config": {"content": {"write": {"objects": write_objects}}},
                    },
                ),
                201,
            )
            customers[name] = Customer(
                name, provider, integration_id, installation["id"], group_ref,
                tenant["tenantId"], write_objects,
            )  # fmt: skip
    return Setup(project["id"], key, customers)


def fault_settings(options: Options, seed: int) -> dict[str, Any]:
    """`--fault-rate` split over every kind of fault; 35 % of them lose the answer of a
    write that happened."""
    share = {
        "rateLimitRate": 0.15,
        "serverErrorRate": 0.15,
        "unavailableRate": 0.10,
        "dropRate": 0.15,
        "timeoutRate": 0.10,
        "dropAfterWriteRate": 0.20,
        "timeoutAfterWriteRate": 0.15,
    }
    faults: dict[str, Any] = {k: round(v * options.fault_rate, 6) for k, v in share.items()}
    faults.update(
        seed=seed,
        latencyMs=options.latency_ms,
        latencyJitterMs=20,
        retryAfterSeconds=1,
        timeoutSeconds=options.sandbox_timeout,
        tokenLifetimeSeconds=options.token_lifetime,
    )
    return faults


def set_faults(stack: Stack, setup: Setup, options: Options, on: bool) -> None:
    with httpx.Client(base_url=stack.sandbox_url, timeout=30) as sandbox:
        for index, customer in enumerate(setup.customers.values()):
            faults = fault_settings(options, options.seed * 100 + index) if on else {}
            check(sandbox.put(f"/_sandbox/tenants/{customer.tenant_id}/faults", json=faults), 200)


# --- the workload --------------------------------------------------------------------------

# (customer, object, write type, shape, weight): shape is single | batch (2-20 records) |
# autobatch (a single record with autoBatchPolicy)
MIX: list[tuple[str, str, str, str, int]] = [
    # creates that can be reconciled after a lost answer
    ("sf-a", "contact", "create", "single", 10),
    ("hs-a", "contacts", "create", "single", 8),
    ("hs-b", "contacts", "create", "single", 4),
    ("hs-b", "companies", "create", "single", 5),
    # creates without a reconcile key
    ("sf-a", "account", "create", "single", 5),
    ("sf-b", "contact", "create", "single", 5),
    ("sf-b", "account", "create", "single", 3),
    ("hs-a", "companies", "create", "single", 7),
    # updates of records created before the chaos
    ("sf-a", "contact", "update", "single", 6),
    ("sf-b", "account", "update", "single", 4),
    ("hs-a", "contacts", "update", "single", 6),
    ("hs-b", "companies", "update", "single", 4),
    # batches
    ("sf-a", "contact", "create", "batch", 3),
    ("hs-a", "contacts", "create", "batch", 3),
    ("sf-b", "account", "create", "batch", 2),
    ("hs-a", "companies", "create", "batch", 2),
    ("sf-a", "contact", "update", "batch", 1),
    ("hs-b", "contacts", "update", "batch", 1),
    # auto-batched singles
    ("sf-a", "contact", "create", "autobatch", 4),
    ("hs-a", "contacts", "create", "autobatch", 4),
    ("sf-b", "account", "create", "autobatch", 2),
    ("hs-b", "companies", "update", "autobatch", 2),
]


def email_of(marker: str) -> str:
    return f"{marker}@chaos.example.com"


@dataclass
class Write:
    """One write request of the run and what became of it."""

    index: int
    customer: str
    object_name: str
    type: str  # create | update
    shape: str  # single | batch | autobatch
    markers: list[str]  # one unique value per record
    targets: list[str | None]  # updates: the record ids
    double: bool = False  # sent twice with the same Idempotency-Key
    all_or_none: bool = False
    idempotency_key: str | None = None
    operation_ids: list[str] = field(default_factory=list)
    rejected: str | None = None  # a 4xx answer (never expected)

    @property
    def label(self) -> str:
        return f"{self.customer} {self.object_name} {self.type} {self.shape}"

    def body(self, customer: Customer, kind: ObjectKind) -> dict[str, Any]:
        records = []
        for marker, target in zip(self.markers, self.targets, strict=True):
            if self.type == "create":
                records.append(kind.record(marker))
            else:
                records.append({"id": target, kind.update_field: marker})
        body: dict[str, Any] = {
            "groupRef": customer.group_ref,
            "type": self.type,
            "mode": "asynchronous",
        }
        if self.shape == "batch":
            body["batch"] = [{"record": r} for r in records]
            if self.all_or_none:
                body["batchPolicy"] = {"allOrNone": True}
        else:
            body["record"] = records[0]
        if self.shape == "autobatch":
            body["autoBatchPolicy"] = {"maxDelayMinutes": 1, "retryDeadlineHours": 1}
        return body


def plan_writes(options: Options, run: str, idempotency: bool) -> list[Write]:
    rng = random.Random(options.seed)
    weights = [w for *_, w in MIX]
    writes: list[Write] = []
    serial = 0
    for index in range(options.writes):
        customer, object_name, write_type, shape, _ = rng.choices(MIX, weights)[0]
        size = rng.randint(2, 20) if shape == "batch" else 1
        markers = []
        for _ in range(size):
            serial += 1
            markers.append(f"cx{run}-{serial:06d}")
        write = Write(
            index, customer, object_name, write_type, shape, markers, [None] * size,
            all_or_none=shape == "batch" and rng.random() < 0.3,
        )  # fmt: skip
        if idempotency and rng.random() < options.idempotent_share:
            write.double = True
            write.idempotency_key = f"chaos-{run}-{index}"
        writes.append(write)
    return writes


def create_update_targets(stack: Stack, setup: Setup, writes: list[Write], run: str) -> int:
    """The records the updates change, created synchronously before any fault is on."""
    needed: dict[tuple[str, str], list[Write]] = defaultdict(list)
    for write in writes:
        if write.type == "update":
            needed[(write.customer, write.object_name)].append(write)
    client = httpx.Client(
        base_url=stack.api_url + "/v1", headers={"X-Api-Key": setup.api_key}, timeout=120
    )
    made = 0
    with client:
        for (name, object_name), todo in needed.items():
            customer = setup.customers[name]
            kind = OBJECTS[(customer.provider, object_name)]
            slots = [(w, i) for w in todo for i in range(len(w.markers))]
            path = (
                f"/projects/{setup.project_id}/integrations/{customer.integration_id}"
                f"/objects/{object_name}"
            )
            for start in range(0, len(slots), 100):
                chunk = slots[start : start + 100]
                records = [kind.record(f"up{run}-{made + n:06d}") for n in range(len(chunk))]
                body = {
                    "groupRef": customer.group_ref,
                    "type": "create",
                    "batch": [{"record": r} for r in records],
                }
                answer = check(client.post(path, json=body), 200)
                for (write, i), result in zip(chunk, answer["results"], strict=True):
                    if not result.get("success"):
                        raise RuntimeError(f"could not create an update target: {result}")
                    write.targets[i] = str(result["recordId"])
                made += len(chunk)
    return made


# --- sending, with the chaos ---------------------------------------------------------------


@dataclass
class ClientStats:
    requests: int = 0  # HTTP requests, retries included
    accepted: int = 0  # write requests that got an operation id
    answers: Counter[str] = field(default_factory=Counter)  # status code → count
    retried_503: int = 0
    # 503 answers to auto-batched writes sent without a key: docs/async.md says such a write
    # may have been added to its batch anyway, so resending it may write it twice
    unkeyed_auto_batch_503: int = 0
    connection_errors: int = 0
    unkeyed_resends: int = 0  # resends without a key after an answer that never came
    retried_other: int = 0  # 409 in progress, 5xx other than 503
    idempotency_mismatch: int = 0  # the same key answered with two operation ids
    rejected: int = 0


@dataclass
class Event:
    at: float  # seconds since sending started
    what: str


class Chaos:
    """Kills workers and restarts the database when sending reaches given fractions."""

    def __init__(self, stack: Stack, options: Options, total: int) -> None:
        self.stack, self.options, self.total = stack, options, total
        plan: list[tuple[float, str]] = []
        for k in range(options.kills):
            plan.append(((k + 1) / (options.kills + 1), "kill"))
        restarts = options.db_restarts if stack.cluster is not None else 0
        for k in range(restarts):
            plan.append(((k + 1) / (restarts + 1) + 0.1, "db-restart"))
        self.plan = sorted(plan)
        self.done = 0  # write requests answered
        self.events: list[Event] = []
        self.started = time.monotonic()
        self.kills = 0

    def note(self, what: str) -> None:
        self.events.append(Event(time.monotonic() - self.started, what))
        say(self.options, what)

    async def run(self, stop: asyncio.Event) -> None:
        """Each event when its share of the writes has been sent (those due when sending
        ends still happen; `stop` ends the wait for the others)."""
        while self.plan:
            fraction, action = self.plan[0]
            if self.done >= fraction * self.total:
                self.plan.pop(0)
                if action == "kill":
                    await self.kill_worker()
                else:
                    await self.restart_database()
            elif stop.is_set():
                return
            else:
                await asyncio.sleep(0.1)

    async def kill_worker(self) -> None:
        slot = self.kills % len(self.stack.workers)
        worker = self.stack.workers[slot]
        worker.kill()
        self.kills += 1
        calls, claims = await in_flight(self.stack.database_url, worker.pid)
        self.note(
            f"SIGKILL {worker.name} (pid {worker.pid}) after {self.done} writes: it held"
            f" {claims} claims, {calls} provider calls in flight"
        )
        await asyncio.sleep(1.0)
        self.stack.workers[slot] = await asyncio.to_thread(self.stack.new_worker, slot)
        self.note(f"started {self.stack.workers[slot].name}")

    async def restart_database(self) -> None:
        cluster = self.stack.cluster
        assert cluster is not None
        self.note(f"PostgreSQL stop -m fast after {self.done} writes, down {self.options.db_gap}s")
        await asyncio.to_thread(cluster.restart, self.options.db_gap)
        self.note("PostgreSQL started again")


async def in_flight(database_url: str, pid: int) -> tuple[int, int]:
    """(provider calls in flight, claims held) by the worker with this pid, read from the
    engine's tables right after its death (evidence that the kill hit work mid-call)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    pattern = f"%:{pid}:%"
    try:
        async with engine.connect() as conn:
            calls = await conn.execute(
                text(
                    "SELECT count(*) FROM operation_attempt"
                    " WHERE status = 'sending' AND worker LIKE :p"
                ),
                {"p": pattern},
            )
            claims = await conn.execute(
                text(
                    "SELECT count(*) FROM write_job"
                    " WHERE status = 'running' AND lease_owner LIKE :p"
                ),
                {"p": pattern},
            )
            return int(calls.scalar_one()), int(claims.scalar_one())
    except Exception:
        return -1, -1
    finally:
        await engine.dispose()


async def send_one(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], write: Write, stats: ClientStats
) -> str | None:
    """POST until the write is accepted: 503, 409-in-progress, 5xx and connection errors are
    retried with the same request (and the same Idempotency-Key, when it has one)."""
    headers = {"Idempotency-Key": write.idempotency_key} if write.idempotency_key else {}
    while True:
        stats.requests += 1
        try:
            response = await client.post(path, json=body, headers=headers)
        except httpx.TransportError:
            stats.connection_errors += 1
            if write.idempotency_key is None:
                stats.unkeyed_resends += 1
            await asyncio.sleep(0.5)
            continue
        stats.answers[str(response.status_code)] += 1
        if response.status_code == 200:
            return str(response.json()["operationId"])
        problem = _json(response)
        if response.status_code == 503:
            stats.retried_503 += 1
            if write.shape == "autobatch" and write.idempotency_key is None:
                stats.unkeyed_auto_batch_503 += 1
            await asyncio.sleep(min(float(response.headers.get("Retry-After") or 1), 5.0))
            continue
        if response.status_code >= 500 or (
            response.status_code == 409 and problem.get("retryable")
        ):
            stats.retried_other += 1
            await asyncio.sleep(0.5)
            continue
        stats.rejected += 1
        write.rejected = f"{response.status_code}: {response.text[:300]}"
        return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def send_all(
    stack: Stack, setup: Setup, writes: list[Write], options: Options
) -> tuple[ClientStats, Chaos, float]:
    stats = ClientStats()
    chaos = Chaos(stack, options, len(writes))
    queue: asyncio.Queue[Write] = asyncio.Queue()
    for write in writes:
        queue.put_nowait(write)
    limits = httpx.Limits(
        max_connections=options.clients * 2, max_keepalive_connections=options.clients * 2
    )
    client = httpx.AsyncClient(
        base_url=stack.api_url + "/v1",
        headers={"X-Api-Key": setup.api_key},
        timeout=httpx.Timeout(120.0, connect=10.0),
        limits=limits,
    )
    rng = random.Random(options.seed + 7)

    async def one(write: Write) -> None:
        customer = setup.customers[write.customer]
        kind = OBJECTS[(customer.provider, write.object_name)]
        path = (
            f"/projects/{setup.project_id}/integrations/{customer.integration_id}"
            f"/objects/{write.object_name}"
        )
        body = write.body(customer, kind)
        sends = [send_one(client, path, body, write, stats)]
        if write.double and rng.random() < 0.5:
            # both at once: the second finds the first in progress
            sends.append(send_one(client, path, body, write, stats))
        elif write.double:
            # the second after the first was answered: a client resending a lost answer
            first = await sends.pop()
            if first is not None:
                write.operation_ids.append(first)
            await asyncio.sleep(rng.uniform(0, 0.5))
            sends.append(send_one(client, path, body, write, stats))
        for operation_id in await asyncio.gather(*sends):
            if operation_id is not None:
                write.operation_ids.append(operation_id)
        if write.operation_ids:
            stats.accepted += 1
        if len(set(write.operation_ids)) > 1:
            stats.idempotency_mismatch += 1

    async def client_task() -> None:
        while True:
            try:
                write = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await one(write)
            chaos.done += 1

    stop = asyncio.Event()
    chaos_task = asyncio.create_task(chaos.run(stop))
    started = time.monotonic()
    progress = asyncio.create_task(report_progress(options, chaos, len(writes), stop))
    try:
        await asyncio.gather(*(client_task() for _ in range(options.clients)))
    finally:
        elapsed = time.monotonic() - started
        stop.set()
        await client.aclose()
    await chaos_task  # an event that was due at the very end still happens
    progress.cancel()
    return stats, chaos, elapsed


async def report_progress(options: Options, chaos: Chaos, total: int, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(10)
        say(options, f"sent {chaos.done}/{total}")


# --- waiting -------------------------------------------------------------------------------


def fetch_operations(
    client: httpx.Client, setup: Setup, wanted: set[str]
) -> dict[str, dict[str, Any]]:
    """Every operation of every customer's installation (pages of 1000, newest first)."""
    found: dict[str, dict[str, Any]] = {}
    for customer in setup.customers.values():
        path = (
            f"/projects/{setup.project_id}/integrations/{customer.integration_id}"
            f"/installations/{customer.installation_id}/operations"
        )
        token = None
        while True:
            params: dict[str, Any] = {"pageSize": 1000}
            if token:
                params["pageToken"] = token
            page = check(client.get(path, params=params), 200)
            for operation in page["results"]:
                if operation["id"] in wanted:
                    found[operation["id"]] = operation
            token = page["pagination"].get("nextPageToken")
            if page["pagination"].get("done") or not token:
                break
    return found


def done(operations: dict[str, dict[str, Any]]) -> set[str]:
    return {i for i, o in operations.items() if o["status"] in TERMINAL}


def wait_until_final(
    stack: Stack, setup: Setup, writes: list[Write], options: Options
) -> tuple[dict[str, dict[str, Any]], float]:
    """Poll until every accepted operation is final (or `--wait-timeout`): whole listings
    while many are open, then the open ones one by one."""
    wanted = {o for w in writes for o in w.operation_ids}
    started = time.monotonic()
    deadline = started + options.wait_timeout
    client = httpx.Client(
        base_url=stack.api_url + "/v1", headers={"X-Api-Key": setup.api_key}, timeout=120
    )
    last_said = 0.0
    operations: dict[str, dict[str, Any]] = {}
    with client:
        while True:
            open_ids = wanted - done(operations)
            try:
                if len(open_ids) > 300:
                    operations.update(fetch_operations(client, setup, wanted))
                else:
                    for operation_id in open_ids:
                        got = client.get(f"/projects/{setup.project_id}/operations/{operation_id}")
                        operations[operation_id] = check(got, 200)
            except (httpx.TransportError, RuntimeError) as exc:
                say(options, f"reading operations failed ({exc}); trying again")
            finished = done(operations)
            if len(finished) == len(wanted) or time.monotonic() > deadline:
                break
            if time.monotonic() - last_said > 10:
                kinds = Counter(
                    w.label for w in writes if any(o not in finished for o in w.operation_ids)
                )
                say(options, f"final: {len(finished)}/{len(wanted)}; open: {dict(kinds)}")
                last_said = time.monotonic()
            time.sleep(2)
    return operations, time.monotonic() - started


# --- counting ------------------------------------------------------------------------------


@dataclass
class Figures:
    requests_planned: int = 0
    sent_twice: int = 0
    accepted: int = 0  # write requests with an operation id
    terminal: int = 0  # accepted write requests whose operation is final
    operations: int = 0
    operations_terminal: int = 0
    records: int = 0
    written: int = 0  # records whose marker is in the CRM
    succeeded: int = 0
    lost: int = 0
    lost_reported_success: int = 0
    lost_reported_failure: int = 0  # failed for another reason than an unknown outcome
    lost_never_final: int = 0
    duplicated: int = 0
    unknown: int = 0
    unknown_written: int = 0
    unknown_not_written: int = 0
    unknown_by_class: Counter[str] = field(default_factory=Counter)
    unknown_records: list[tuple[str, bool]] = field(default_factory=list)  # (operation, written)
    # why the outcome was unknown (read from the operations' logs) → written | not written → n
    unknown_causes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failed_other: int = 0
    failed_but_written: int = 0
    wrong_record_id: int = 0
    by_kind: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: list[str] = field(default_factory=list)

    def example(self, text: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(text)


class Crm:
    """What the sandbox holds: records by marker, per tenant and object."""

    def __init__(self, stack: Stack, setup: Setup) -> None:
        self.by_marker: dict[tuple[str, str, str], dict[str, list[str]]] = {}
        self.field_of: dict[tuple[str, str, str], dict[str, str]] = {}  # record id → value
        self.records: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        with httpx.Client(base_url=stack.sandbox_url, timeout=300) as sandbox:
            for customer in setup.customers.values():
                for object_name in customer.write_objects:
                    kind = OBJECTS[(customer.provider, object_name)]
                    listed = check(
                        sandbox.get(
                            f"/_sandbox/tenants/{customer.tenant_id}/records/{kind.sandbox_name}"
                        ),
                        200,
                    )["records"]
                    table = {}
                    for record in listed:
                        values = (
                            record.get("properties") if customer.provider == "hubspot" else record
                        )
                        record_id = str(record.get("id") or record.get("Id"))
                        table[record_id] = values or {}
                    self.records[(customer.name, object_name)] = table

    def holding(self, customer: str, object_name: str, field_name: str, value: str) -> list[str]:
        """Ids of the records whose `field_name` is `value`."""
        key = (customer, object_name, field_name)
        if key not in self.by_marker:
            index: dict[str, list[str]] = defaultdict(list)
            values: dict[str, str] = {}
            for record_id, record in self.records[(customer, object_name)].items():
                found = record.get(field_name)
                if found is not None:
                    index[str(found)].append(record_id)
                    values[record_id] = str(found)
            self.by_marker[key], self.field_of[key] = index, values
        return self.by_marker[key].get(value, [])

    def value(self, customer: str, object_name: str, field_name: str, record_id: str) -> str | None:
        self.holding(customer, object_name, field_name, "")
        return self.field_of[(customer, object_name, field_name)].get(record_id)


def reported(operation: dict[str, Any] | None, size: int) -> list[tuple[str, str | None]]:
    """Per record: (success | unknown | failed | pending, record id) from an operation."""
    if operation is None or operation["status"] not in TERMINAL:
        return [("pending", None)] * size
    metadata = operation.get("metadata") or {}
    records = metadata.get("records")
    if isinstance(records, list) and len(records) == size:
        return [
            (
                "success"
                if r.get("success")
                else "unknown"
                if r.get("outcomeUnknown")
                else "failed",
                r.get("recordId"),
            )
            for r in records
        ]
    if operation["status"] == "success":
        ids = metadata.get("successfulRecordIds") or [None] * size
        return [("success", str(i) if i else None) for i in ids[:size]] + [("success", None)] * (
            size - len(ids)
        )
    state = "unknown" if metadata.get("errorCode") == "outcome_unknown" else "failed"
    return [(state, None)] * size


def judge(
    figures: Figures, write: Write, marker: str, target: str | None, state: str,
    record_id: str | None, crm: Crm, customer: Customer, operation_id: str,
) -> None:  # fmt: skip
    """One record: where it is in the CRM against what its operation said."""
    kind = OBJECTS[(customer.provider, write.object_name)]
    name = kind.marker_field if write.type == "create" else kind.update_field
    holders = crm.holding(customer.name, write.object_name, name, marker)
    present = bool(holders) if write.type == "create" else target in holders
    tally = figures.by_kind[write.label]
    tally["records"] += 1
    figures.records += 1
    if present:
        figures.written += 1
    if len(holders) > 1:
        figures.duplicated += 1
        tally["duplicated"] += 1
        figures.example(f"duplicated: {marker} ({write.label}) in records {holders}")
    if state == "success":
        figures.succeeded += 1
        if not present:
            figures.lost += 1
            figures.lost_reported_success += 1
            tally["lost"] += 1
            figures.example(f"lost: {marker} ({write.label}) reported success, not in the CRM")
        elif record_id is not None and record_id not in holders:
            figures.wrong_record_id += 1
            figures.example(f"{marker}: reported record {record_id}, the CRM has it in {holders}")
    elif state == "unknown":
        figures.unknown += 1
        tally["unknown"] += 1
        figures.unknown_by_class[
            f"{write.type} {'keyed' if customer.keyed(write.object_name) else 'no key'}"
        ] += 1
        figures.unknown_records.append((operation_id, present))
        if present:
            figures.unknown_written += 1
            tally["unknown written"] += 1
        else:
            figures.unknown_not_written += 1
    elif state == "failed":
        figures.failed_other += 1
        tally["failed"] += 1
        if present:
            figures.failed_but_written += 1
            figures.example(f"{marker} ({write.label}) reported failed but is in the CRM")
        else:
            figures.lost += 1
            figures.lost_reported_failure += 1
            tally["lost"] += 1
            figures.example(f"lost: {marker} ({write.label}) failed for another reason")
    else:
        figures.lost += 1
        figures.lost_never_final += 1
        tally["lost"] += 1
        figures.example(f"lost: {marker} ({write.label}) never reached a final state")


def judge_auto_batch(
    figures: Figures, members: list[Write], operation: dict[str, Any] | None, crm: Crm,
    customers: dict[str, Customer],
) -> None:  # fmt: skip
    """An auto-batch's records are in order of arrival, which the clients do not know: its
    successes are matched by record id, the rest by count."""
    write0 = members[0]
    customer = customers[write0.customer]
    kind = OBJECTS[(customer.provider, write0.object_name)]
    slots: dict[str, tuple[Write, str | None]] = {}
    for write in members:
        slots.setdefault(write.markers[0], (write, write.targets[0]))
    states = reported(operation, len(slots))
    if operation is not None and operation["status"] in TERMINAL:
        records = (operation.get("metadata") or {}).get("records")
        if not isinstance(records, list) or len(records) != len(slots):
            figures.example(
                f"auto-batch {operation['id']}: {len(records or [])} records reported for"
                f" {len(slots)} requests"
            )
    succeeded_ids = [i for s, i in states if s == "success" and i]
    # each reported success names its record: which of our markers is it?
    by_id: dict[str, str] = {}
    field_name = kind.marker_field if write0.type == "create" else kind.update_field
    for marker, (_write, target) in slots.items():
        if write0.type == "update" and target:
            by_id[target] = marker
    for record_id in succeeded_ids:
        if write0.type == "create":
            value = crm.value(customer.name, write0.object_name, field_name, record_id)
            if value in slots:
                by_id[record_id] = value
    success_markers = {by_id[i] for i in succeeded_ids if i in by_id}
    unmatched = [i for i in succeeded_ids if i not in by_id]
    unknown = sum(1 for s, _ in states if s == "unknown")
    failed = sum(1 for s, _ in states if s == "failed")
    pending = all(s == "pending" for s, _ in states)
    for record_id in unmatched:
        figures.wrong_record_id += 1
        figures.example(f"auto-batch {write0.label}: success names {record_id}, not one of ours")
    for marker, (write, target) in slots.items():
        if pending:
            state = "pending"
        elif marker in success_markers:
            state = "success"
        else:
            holders = crm.holding(customer.name, write.object_name, field_name, marker)
            present = bool(holders) if write.type == "create" else target in holders
            # the unknown ones take the present records first, then the absent ones
            if unknown and present:
                state, unknown = "unknown", unknown - 1
            elif failed and present:
                state, failed = "failed", failed - 1
            elif unknown:
                state, unknown = "unknown", unknown - 1
            elif failed:
                state, failed = "failed", failed - 1
            else:
                state = "success"  # counted as reported success: absent means lost
        judge(figures, write, marker, target, state, None, crm, customer, write0.operation_ids[0])


def count(
    stack: Stack, setup: Setup, writes: list[Write], operations: dict[str, dict[str, Any]]
) -> Figures:
    figures = Figures(requests_planned=len(writes))
    crm = Crm(stack, setup)
    distinct = {o for w in writes for o in w.operation_ids}
    figures.operations = len(distinct)
    figures.operations_terminal = sum(
        1 for o in distinct if operations.get(o, {}).get("status") in TERMINAL
    )
    auto_batches: dict[str, list[Write]] = defaultdict(list)
    for write in writes:
        figures.sent_twice += write.double
        if not write.operation_ids:
            continue  # rejected: counted by the client
        figures.accepted += 1
        if all(operations.get(o, {}).get("status") in TERMINAL for o in write.operation_ids):
            figures.terminal += 1
        if write.shape == "autobatch":
            auto_batches[write.operation_ids[0]].append(write)
            continue
        customer = setup.customers[write.customer]
        states = reported(operations.get(write.operation_ids[0]), len(write.markers))
        for marker, target, (state, record_id) in zip(
            write.markers, write.targets, states, strict=True
        ):
            judge(
                figures, write, marker, target, state, record_id, crm, customer,
                write.operation_ids[0],
            )  # fmt: skip
    for operation_id, members in auto_batches.items():
        judge_auto_batch(figures, members, operations.get(operation_id), crm, setup.customers)
    return figures


def unknown_cause(messages: list[str]) -> str:
    """Why an operation's outcome is unknown, from its log lines: the attempt whose answer was
    lost, and what the worker saw of it (nothing at all when it died mid-call)."""
    attempt = None
    for message in reversed(messages):
        found = re.match(r"attempt (\d+) got no answer", message)
        if found:
            attempt = found.group(1)
            break
    if attempt is None:
        return "other: " + (messages[-1][:80] if messages else "no log")
    for message in messages:
        if message.startswith(f"attempt {attempt} failed"):
            crash = re.search(r"unexpected (\w+) in writeback", message)
            if crash:
                return f"the worker could not record the answer ({crash.group(1)})"
            if "within" in message:
                return "no answer within WRITEBACK_PROVIDER_TIMEOUT_SECONDS"
            if "closed the connection" in message or "mid-answer" in message:
                return "connection closed before the answer"
            return "answer lost: " + message.split(": ", 1)[-1][:60]
    return "worker stopped mid-call (claim taken over)"


def explain_unknowns(stack: Stack, setup: Setup, figures: Figures) -> None:
    """Tally the unknown records by cause, reading each such operation's logs."""
    by_operation: dict[str, list[bool]] = defaultdict(list)
    for operation_id, written in figures.unknown_records:
        by_operation[operation_id].append(written)
    client = httpx.Client(
        base_url=stack.api_url + "/v1", headers={"X-Api-Key": setup.api_key}, timeout=60
    )
    with client:
        for operation_id, records in by_operation.items():
            logs = check(
                client.get(f"/projects/{setup.project_id}/operations/{operation_id}/logs"), 200
            )
            cause = unknown_cause([str(line["message"].get("msg", "")) for line in logs])
            tally = figures.unknown_causes[cause]
            tally["operations"] += 1
            for written in records:
                tally["written" if written else "not written"] += 1


# --- the report ----------------------------------------------------------------------------


@dataclass
class Report:
    options: Options
    figures: Figures
    stats: ClientStats
    events: list[Event]
    idempotency: bool
    update_targets: int
    provider_calls: dict[str, int]
    attempts: Counter[str]
    send_seconds: float
    wait_seconds: float
    elapsed: float
    workdir: str

    @property
    def failures(self) -> list[str]:
        f = self.figures
        problems = []
        if f.lost:
            problems.append(f"{f.lost} records lost")
        if f.duplicated:
            problems.append(f"{f.duplicated} records written more than once")
        if f.terminal < f.accepted:
            problems.append(
                f"{f.accepted - f.terminal} accepted writes never reached a final state"
            )
        if f.failed_but_written:
            problems.append(f"{f.failed_but_written} records reported failed but written")
        if self.stats.rejected:
            problems.append(f"{self.stats.rejected} write requests rejected (4xx)")
        return problems

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        f, s = self.figures, self.stats
        return {
            "command": self.options.command,
            "database": self.options.database,
            "machine": machine(),
            "workdir": self.workdir,
            "idempotency": self.idempotency,
            "elapsedSeconds": round(self.elapsed, 1),
            "sendSeconds": round(self.send_seconds, 1),
            "waitSeconds": round(self.wait_seconds, 1),
            "writes": {
                "planned": f.requests_planned,
                "sentTwice": f.sent_twice,
                "accepted": f.accepted,
                "terminal": f.terminal,
                "operations": f.operations,
                "operationsTerminal": f.operations_terminal,
            },
            "records": {
                "total": f.records,
                "written": f.written,
                "succeeded": f.succeeded,
                "lost": f.lost,
                "lostReportedSuccess": f.lost_reported_success,
                "lostReportedFailure": f.lost_reported_failure,
                "lostNeverFinal": f.lost_never_final,
                "duplicated": f.duplicated,
                "outcomeUnknown": f.unknown,
                "outcomeUnknownWritten": f.unknown_written,
                "outcomeUnknownNotWritten": f.unknown_not_written,
                "outcomeUnknownByClass": dict(f.unknown_by_class),
                "outcomeUnknownByCause": {k: dict(v) for k, v in f.unknown_causes.items()},
                "failedOther": f.failed_other,
                "failedButWritten": f.failed_but_written,
                "wrongRecordId": f.wrong_record_id,
                "updateTargets": self.update_targets,
            },
            "byKind": {k: dict(v) for k, v in sorted(f.by_kind.items())},
            "client": {
                "httpRequests": s.requests,
                "answers": dict(s.answers),
                "retried503": s.retried_503,
                "unkeyedAutoBatch503": s.unkeyed_auto_batch_503,
                "connectionErrors": s.connection_errors,
                "unkeyedResends": s.unkeyed_resends,
                "retriedOther": s.retried_other,
                "idempotencyMismatch": s.idempotency_mismatch,
                "rejected": s.rejected,
            },
            "providerCalls": self.provider_calls,
            "engineAttempts": dict(self.attempts),
            "events": [{"at": round(e.at, 1), "what": e.what} for e in self.events],
            "examples": f.examples,
            "failures": self.failures,
            "ok": self.ok,
        }


def machine() -> str:
    cpus = os.cpu_count()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = "unknown CPU"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        memory = "unknown RAM"
    return f"{cpus} CPUs ({model}), {memory}, Python {sys.version.split()[0]}"


def render(report: Report) -> str:
    f, s = report.figures, report.stats
    rows = [
        ("write requests planned", f.requests_planned, ""),
        ("  of which sent twice (same Idempotency-Key)", f.sent_twice, ""),
        ("accepted", f.accepted, f"{f.operations} operations"),
        ("terminal", f.terminal, f"{f.operations_terminal} operations"),
        ("records in accepted writes", f.records, ""),
        ("written (marker in the CRM)", f.written, ""),
        ("reported success", f.succeeded, ""),
        ("LOST", f.lost, f"success but absent {f.lost_reported_success}, failed (not unknown)"
         f" and absent {f.lost_reported_failure}, never final {f.lost_never_final}"),
        ("DUPLICATED", f.duplicated, "marker present more than once"),
        ("outcome_unknown", f.unknown, f"in fact written {f.unknown_written}, not written"
         f" {f.unknown_not_written}"),
        ("failures for other reasons", f.failed_other, f"of which written {f.failed_but_written}"),
        ("reported record id differs", f.wrong_record_id, ""),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    lines = ["", f"chaos run on {report.options.database}: {report.options.command}", ""]
    lines += [f"  {name:<{width}}  {value:>8}  {note}".rstrip() for name, value, note in rows]
    lines.append("")
    lines.append("  outcome_unknown by class: " + (
        ", ".join(f"{k} {v}" for k, v in sorted(f.unknown_by_class.items())) or "none"
    ))  # fmt: skip
    for cause, split in sorted(f.unknown_causes.items()):
        lines.append(
            f"    {cause}: {split['operations']} operations; records written"
            f" {split['written']}, not written {split['not written']}"
        )
    lines.append(
        f"  client: {s.requests} HTTP requests, answers {dict(sorted(s.answers.items()))},"
        f" {s.retried_503} retried after 503 ({s.unkeyed_auto_batch_503} of them auto-batched"
        f" without a key), {s.connection_errors} connection errors"
        f" ({s.unkeyed_resends} resent without a key), {s.retried_other} other retries,"
        f" {s.idempotency_mismatch} keys answered with two operations, {s.rejected} rejected"
    )
    calls = sum(n for k, n in report.provider_calls.items() if not k.endswith(" token"))
    tokens = sum(n for k, n in report.provider_calls.items() if k.endswith(" token"))
    lines.append(
        f"  provider calls (sandbox): {calls}, token requests among them {tokens};"
        f" engine attempts by status: {dict(sorted(report.attempts.items()))}"
    )
    lines.append(f"  idempotent share: {'on' if report.idempotency else 'off'}")
    for event in report.events:
        lines.append(f"  t+{event.at:6.1f}s  {event.what}")
    lines.append(
        f"  elapsed {report.elapsed:.0f}s (sending {report.send_seconds:.0f}s, then waiting"
        f" {report.wait_seconds:.0f}s for final states); machine: {machine()}"
    )
    lines.append("")
    lines.append("  by kind (records):")
    for label, tally in sorted(f.by_kind.items()):
        lines.append(f"    {label:<34} " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    if f.examples:
        lines.append("")
        lines.append("  examples:")
        lines += [f"    {e}" for e in f.examples]
    lines.append("")
    lines.append("RESULT: " + ("OK" if report.ok else "FAILED: " + "; ".join(report.failures)))
    return "\n".join(lines)


def provider_calls(stack: Stack, setup: Setup) -> dict[str, int]:
    """Calls the sandbox counted per customer, and token requests (refreshes) among them."""
    calls: dict[str, int] = {}
    with httpx.Client(base_url=stack.sandbox_url, timeout=30) as sandbox:
        for customer in setup.customers.values():
            stats = _json(sandbox.get(f"/_sandbox/tenants/{customer.tenant_id}/stats"))
            calls[customer.name] = int(stats.get("requests") or 0)
            by_endpoint = stats.get("byEndpoint") or {}
            calls[f"{customer.name} token"] = sum(
                int(n) for name, n in by_endpoint.items() if name == "oauth.token"
            )
    return calls


async def attempt_statuses(database_url: str) -> Counter[str]:
    """How the engine's attempts ended (operation_attempt.status), for the report."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT status, count(*) FROM operation_attempt GROUP BY status")
            )
            return Counter({str(s): int(n) for s, n in rows})
    except Exception:
        return Counter()
    finally:
        await engine.dispose()


# --- the run -------------------------------------------------------------------------------


def idempotency_enabled(options: Options) -> bool:
    return options.idempotency == "on"


def run(options: Options) -> Report:
    """The whole run; the processes it started are stopped whatever happens."""
    began = time.monotonic()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    run_id = secrets.token_hex(3)
    idempotency = idempotency_enabled(options)
    say(options, f"work directory {workdir}; idempotent share {'on' if idempotency else 'off'}")
    stack = start_stack(options, workdir)
    ok = False
    try:
        say(options, f"stack up: database {stack.database_url}, api {stack.api_url}")
        setup = set_up_customers(stack, run_id)
        writes = plan_writes(options, run_id, idempotency)
        targets = create_update_targets(stack, setup, writes, run_id)
        say(options, f"{len(setup.customers)} customers, {targets} records to update; faults on")
        set_faults(stack, setup, options, on=True)
        stats, chaos, send_seconds = asyncio.run(send_all(stack, setup, writes, options))
        say(options, f"sent {len(writes)} writes in {send_seconds:.0f}s; waiting for final states")
        operations, wait_seconds = wait_until_final(stack, setup, writes, options)
        # no call may still be on its way: stop the workers before counting
        for worker in stack.workers:
            worker.stop()
        if options.database == "sqlite":  # its embedded worker too; serve on without it
            stack.api.stop()
            stack.api.env = {**stack.api.env, "WRITEBACK_EMBEDDED_WORKER": "0"}
            stack.api.start()
            wait_http(f"{stack.api_url}/healthz", stack.api)
        time.sleep(1)  # a request cut off by a stopping worker is still processed
        set_faults(stack, setup, options, on=False)
        figures = count(stack, setup, writes, operations)
        explain_unknowns(stack, setup, figures)
        report = Report(
            options, figures, stats, chaos.events, idempotency, targets,
            provider_calls(stack, setup), asyncio.run(attempt_statuses(stack.database_url)),
            send_seconds, wait_seconds, time.monotonic() - began, str(workdir),
        )  # fmt: skip
        ok = report.ok
        return report
    finally:
        stack.stop(keep_database=options.keep or not ok)
        if ok and not options.keep and options.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not ok:
            print(f"[chaos] logs kept in {workdir}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    report = run(options)
    print(render(report))
    if options.json_out is not None:
        options.json_out.write_text(json.dumps(report.as_json(), indent=2) + "\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
