"""`make fleet-test`: compose.yaml's fleet brought up with podman-compose, loaded, one node
stopped under load, torn down.

1. The images (deploy/image.sh fleet), then PostgreSQL and Redis, then both nodes at the same
   moment on the empty database, and the balancer; one published port, on loopback.
2. The migration lock: both nodes ready, one `alembic_version` row, no error in their logs.
3. The demo data and tokens (`slotblock demo` / `token create` inside the nodes), the
   README's seed request through the balancer.
4. A mixed load through the balancer (creates with an Idempotency-Key, the seed query, reads
   of single blocks, deletes), one token per client thread, paced under the rate limit;
   node1 is stopped (`podman stop`, SIGTERM) once a third of it is done.
5. No 5xx and no failed connection at the balancer, beyond the documented retry
   (deploy/haproxy/haproxy.cfg: a DELETE in flight on the stopping node may answer 502 and
   is repeated once by the client); every acknowledged create is readable and every
   acknowledged delete stays deleted; node1 started again serves.
Everything is removed at the end (`podman-compose down --volumes`), pass or fail.
"""

from __future__ import annotations

import collections
import secrets
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.harness import (
    CALENDAR_ID,
    IMAGE_SCRIPT,
    LOCATION_ID,
    ROOT,
    CheckFailed,
    Timer,
    expect,
    free_port,
    podman,
    request,
    seed_request,
    wait_until_up,
)

CLIENTS = 4
REQUESTS_PER_CLIENT = 100
PACE_SECONDS = 0.12  # ≤ 8.3 requests a second per token: under the default burst of 100/10 s
STOP_AFTER = CLIENTS * REQUESTS_PER_CLIENT // 3
# What the balancer answers a PUT or DELETE in flight on a stopping node; the client repeats it.
RETRIED = (502, 503, 504)
# 2032-01-31 .. 2032-03-01 UTC: every block the load creates.
LOAD_WINDOW = (1959120000000, 1961712000000)


def compose_command() -> list[str]:
    tool = Path(sys.executable).parent / "podman-compose"
    expect(tool.exists(), f"no {tool}: make fleet-test installs it (.[deploy])")
    return [str(tool)]


@dataclass
class Fleet:
    project: str
    port: int
    env: dict[str, str]
    compose: list[str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        command = [*self.compose, "--project-name", self.project, "--file", "compose.yaml"]
        result = subprocess.run(
            [*command, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise CheckFailed(f"podman-compose {' '.join(args)}: {result.stderr[-3000:]}")
        return result

    def healthy(self, service: str) -> bool:
        return podman("healthcheck", "run", self.container(service), check=False).returncode == 0

    def wait_healthy(self, *services: str, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        for service in services:
            while not self.healthy(service):
                if time.monotonic() > deadline:
                    log = podman("logs", self.container(service), check=False)
                    raise CheckFailed(
                        f"{service} not healthy in {seconds:.0f} s:\n{log.stderr[-2000:]}"
                    )
                time.sleep(1)

    def exec(self, service: str, *command: str) -> str:
        return podman("exec", self.container(service), *command).stdout.strip()


def fleet_environment(port: int) -> dict[str, str]:
    """podman's configuration and the images' variables, as deploy/image.sh fleet prints."""
    built = subprocess.run(
        [str(IMAGE_SCRIPT), "fleet"], capture_output=True, text=True, timeout=1800, check=False
    )
    expect(built.returncode == 0, f"deploy/image.sh fleet: {built.stderr[-3000:]}")
    env = dict(podman_env_base())
    for line in built.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            name, value = line.removeprefix("export ").split("=", 1)
            env[name] = value
    env["SLOTBLOCK_FLEET_ADDRESS"] = "127.0.0.1"
    env["SLOTBLOCK_FLEET_PORT"] = str(port)
    return env


def podman_env_base() -> dict[str, str]:
    import os  # noqa: PLC0415 - only here: the fleet's environment starts from this one

    return {k: v for k, v in os.environ.items() if not k.startswith("SLOTBLOCK_")}


@dataclass
class Tally:
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    created: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    retried: list[str] = field(default_factory=list)
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int, what: str, body: Any) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.done += 1
            if status >= 500 or status == 429:
                self.failures.append(f"{what}: {status} {str(body)[:200]}")


def client(base: str, token: str, n: int, tally: Tally) -> None:
    mine: list[str] = []
    for i in range(n):
        time.sleep(PACE_SECONDS)
        kind = i % 4
        try:
            if kind == 0:
                day = 1 + (i // 4) % 28
                body = {
                    "locationId": LOCATION_ID,
                    "calendarId": CALENDAR_ID,
                    "title": "fleet test",
                    "startTime": f"2032-02-{day:02d}T09:00:00+05:30",
                    "endTime": f"2032-02-{day:02d}T09:30:00+05:30",
                }
                status, answer = request(
                    "POST",
                    f"{base}/calendars/events/block-slots",
                    token,
                    body,
                    headers=[("Idempotency-Key", str(uuid.uuid4()))],
                )
                tally.count(status, "create", answer)
                if status == 201:
                    mine.append(answer["id"])
                    with tally.lock:
                        tally.created.add(answer["id"])
            elif kind == 1:
                status, answer = seed_request(base, token)
                tally.count(status, "seed", answer)
            elif kind == 2 and mine:
                status, answer = request(
                    "GET", f"{base}/calendars/events/block-slots/{mine[-1]}", token
                )
                tally.count(status, "read", answer)
            elif kind == 3 and len(mine) >= 2 and i % 8 == 3:
                victim = mine.pop(0)
                url = f"{base}/calendars/events/{victim}"
                status, answer = request("DELETE", url, token, {})
                if status in RETRIED:  # the documented retry of a write in flight
                    with tally.lock:
                        tally.retried.append(f"delete: {status}")
                    status, answer = request("DELETE", url, token, {})
                tally.count(status, "delete", answer)
                if status in (201, 404):  # 404: the first attempt had gone through
                    with tally.lock:
                        tally.deleted.add(victim)
            else:
                status, answer = request("GET", f"{base}/healthz")
                tally.count(status, "healthz", answer)
        except OSError as exc:
            with tally.lock:
                tally.done += 1
                tally.failures.append(f"request {i} kind {kind}: {exc!r}")


def check(fleet: Fleet, timer: Timer) -> None:
    fleet.run("up", "--detach", "postgres", "redis")
    fleet.wait_healthy("postgres", "redis")
    timer.step("PostgreSQL (empty) and Redis healthy")

    fleet.run("up", "--detach")
    wait_until_up(fleet.base, "/readyz", seconds=120)
    fleet.wait_healthy("node1", "node2")
    timer.step(f"both nodes and the balancer up on 127.0.0.1:{fleet.port}")

    rows = fleet.exec(
        "postgres", "psql", "-U", "slotblock", "-d", "slotblock", "-Atc",
        "SELECT count(*) FROM alembic_version",
    )  # fmt: skip
    expect(rows == "1", f"alembic_version rows: {rows}")
    for node in ("node1", "node2"):
        log = podman("logs", fleet.container(node), check=False)
        text = log.stdout + log.stderr
        bad = [line for line in text.splitlines() if "Traceback" in line or '"error"' in line]
        expect(not bad, f"{node} logged errors while starting: {bad[:3]}")
        restarts = podman("inspect", "--format", "{{.RestartCount}}", fleet.container(node))
        expect(restarts.stdout.strip() == "0", f"{node} restarted {restarts.stdout.strip()}x")
    timer.step("migration lock: both nodes migrated one empty database, no error, no restart")

    fleet.exec("node1", "slotblock", "demo")
    tokens = [
        fleet.exec("node2", "slotblock", "token", "create", "--location", LOCATION_ID,
                   "--name", f"load-{i}")
        for i in range(CLIENTS)
    ]  # fmt: skip
    status, body = seed_request(fleet.base, tokens[0])
    expect(status == 200 and body["events"], f"seed request through the balancer: {status}")
    timer.step(f"demo data; seed request through the balancer: 200, {len(body['events'])} events")

    tally = Tally()
    threads = [
        threading.Thread(target=client, args=(fleet.base, token, REQUESTS_PER_CLIENT, tally))
        for token in tokens
    ]
    for thread in threads:
        thread.start()
    while tally.done < STOP_AFTER and any(t.is_alive() for t in threads):
        time.sleep(0.05)
    stopped_at = tally.done
    podman("stop", "--time", "20", fleet.container("node1"))
    for thread in threads:
        thread.join(timeout=300)
    total = sum(tally.statuses.values())
    expect(not tally.failures, f"{len(tally.failures)} failed: {tally.failures[:5]}")
    timer.step(
        f"{total} mixed requests, node1 stopped after {stopped_at}: "
        f"{dict(sorted(tally.statuses.items()))}, no 5xx, no 429, no failed connection "
        f"(deletes repeated by the client after a 5xx: {len(tally.retried)})"
    )

    kept = tally.created - tally.deleted
    status, body = request(
        "GET",
        f"{fleet.base}/calendars/blocked-slots?locationId={LOCATION_ID}"
        f"&calendarId={CALENDAR_ID}&startTime={LOAD_WINDOW[0]}&endTime={LOAD_WINDOW[1]}",
        tokens[0],
    )
    expect(status == 200, f"the load's window: {status} {body}")
    listed = {event["id"] for event in body["events"] if event.get("title") == "fleet test"}
    expect(kept <= listed, f"acknowledged creates missing: {sorted(kept - listed)[:5]}")
    expect(not tally.deleted & listed, f"deleted but listed: {sorted(tally.deleted & listed)[:5]}")
    expect(
        listed <= tally.created, f"blocks nobody was told of: {sorted(listed - tally.created)[:5]}"
    )
    timer.step(
        f"{len(kept)} acknowledged creates listed, {len(tally.deleted)} acknowledged deletes "
        "gone, no block created twice"
    )

    podman("start", fleet.container("node1"))
    fleet.wait_healthy("node1")
    for _ in range(6):  # round robin: both nodes answer
        status, _ = seed_request(fleet.base, tokens[1])
        expect(status == 200, f"after node1's restart: {status}")
    timer.step("node1 started again: healthy, the balancer serves")


def main() -> int:
    timer = Timer()
    port = free_port()
    try:
        fleet = Fleet(
            project=f"slotblock-fleet-{secrets.token_hex(3)}",
            port=port,
            env=fleet_environment(port),
            compose=compose_command(),
        )
    except CheckFailed as exc:
        print(f"fleet-test: FAILED: {exc}", file=sys.stderr)
        return 1
    timer.step("images built (deploy/image.sh fleet)")
    print(f"fleet-test: project {fleet.project}")
    try:
        check(fleet, timer)
    except CheckFailed as exc:
        print(f"fleet-test: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        try:
            # The containers with their anonymous volumes (the image's VOLUME), then the rest.
            names = podman(
                "ps", "--all", "--quiet", "--filter",
                f"label=io.podman.compose.project={fleet.project}", check=False,
            ).stdout.split()  # fmt: skip
            if names:
                podman("rm", "--force", "--volumes", "--time", "5", *names, check=False)
            fleet.run("down", "--volumes", "--timeout", "5")
        except CheckFailed as exc:
            print(f"fleet-test: teardown: {exc}", file=sys.stderr)
    print(f"fleet-test: passed in {timer.total():.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
