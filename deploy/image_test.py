"""`make image-test`: the image built by `make image`, run as a user would run it.

Checks, on loopback only: /healthz and /readyz, the README's seed request against `--demo`
(the demo token read from the container's log), a write, the image's HEALTHCHECK, a non-root
process, a bad SLOTBLOCK_ setting refused in one line, a new container on the same volume
still serving the data and the token, and `podman save --format oci-archive` loading into a
separate, empty image store and running there. Prints the image's size. Exit status 0 when
every check held.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from deploy.harness import (
    CALENDAR_ID,
    LOCATION_ID,
    CheckFailed,
    Timer,
    demo_token,
    expect,
    free_port,
    podman,
    request,
    seed_request,
    version,
    wait_until_up,
)

# A block in a window of its own, far from the demo's.
BLOCK = {
    "locationId": LOCATION_ID,
    "calendarId": CALENDAR_ID,
    "title": "image test",
    "startTime": "2031-03-04T10:00:00+05:30",
    "endTime": "2031-03-04T11:00:00+05:30",
}
BLOCK_WINDOW = (1930348800000, 1930435200000)  # 2031-03-04 00:00Z .. 2031-03-05 00:00Z


def run_server(image: str, name: str, volume: str, port: int, *extra: str) -> None:
    podman(
        "run", "--detach", "--name", name,
        "--publish", f"127.0.0.1:{port}:8000",
        "--volume", f"{volume}:/var/lib/slotblock",
        image, "serve", "--host", "0.0.0.0", "--port", "8000", *extra,
    )  # fmt: skip


def logs(name: str) -> str:
    result = podman("logs", name, check=False)
    return result.stdout + result.stderr


def up(base: str, name: str) -> None:
    try:
        wait_until_up(base)
    except CheckFailed as exc:
        raise CheckFailed(f"{exc}\n--- container log ---\n{logs(name)[-3000:]}") from None


def blocks_in_window(base: str, token: str) -> list[str]:
    start, end = BLOCK_WINDOW
    status, body = request(
        "GET",
        f"{base}/calendars/blocked-slots?locationId={LOCATION_ID}&calendarId={CALENDAR_ID}"
        f"&startTime={start}&endTime={end}",
        token,
    )
    expect(status == 200, f"blocked-slots in the block's window: {status} {body}")
    return [event["id"] for event in body["events"]]


def check(image: str, timer: Timer, work: Path) -> None:
    name = f"slotblock-image-test-{work.name}"
    volume = f"{name}-data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    podman("volume", "create", volume)
    try:
        run_server(image, name, volume, port, "--demo")
        up(base, name)
        timer.step("started with --demo; /healthz 200")
        status, body = request("GET", f"{base}/readyz")
        expect(status == 200, f"/readyz: {status} {body}")
        timer.step("/readyz 200")

        token = demo_token(logs(name))
        status, body = seed_request(base, token)
        expect(status == 200, f"seed request: {status} {body}")
        expect(len(body["events"]) > 0, f"seed request returned no events: {body}")
        timer.step(f"seed request: 200, {len(body['events'])} events")

        status, body = request("POST", f"{base}/calendars/events/block-slots", token, BLOCK)
        expect(status == 201, f"create a block: {status} {body}")
        block_id = body["id"]
        expect(block_id in blocks_in_window(base, token), "the new block is not listed")
        timer.step("a block written and read back")

        health = podman("healthcheck", "run", name, check=False)
        expect(health.returncode == 0, f"HEALTHCHECK: {health.stdout}{health.stderr}")
        uid = podman("exec", name, "id", "-u").stdout.strip()
        expect(uid != "0", "the server runs as root")
        timer.step(f"HEALTHCHECK healthy; the server runs as uid {uid}")

        podman("rm", "--force", "--time", "10", name)
        run_server(image, name, volume, port)
        up(base, name)
        expect(block_id in blocks_in_window(base, token), "the block is gone after a restart")
        status, body = seed_request(base, token)
        expect(status == 200 and body["events"], f"seed request after restart: {status}")
        timer.step("a new container on the same volume: the block and the token are there")
    finally:
        podman("rm", "--force", "--time", "5", name, check=False)
        podman("volume", "rm", "--force", volume, check=False)

    bad = podman(
        "run", "--rm", "--env", "SLOTBLOCK_MAX_WINDOW_DAYS=abc", image, "serve", check=False
    )
    errors = [line for line in bad.stderr.splitlines() if "SLOTBLOCK_MAX_WINDOW_DAYS" in line]
    expect(
        bad.returncode == 1 and bool(errors), f"a bad setting: exit {bad.returncode}: {bad.stderr}"
    )
    timer.step(f"SLOTBLOCK_ settings from the environment: {errors[0]!r}, exit 1")


def check_archive(image: str, tag: str, timer: Timer, work: Path) -> int:
    archive = work / "slotblock.oci.tar"
    podman("save", "--format", "oci-archive", "--output", str(archive), image, timeout=300)
    size = archive.stat().st_size
    store = ["--root", str(work / "root"), "--runroot", str(work / "run")]
    try:
        loaded = podman(*store, "load", "--input", str(archive), timeout=300)
        expect(tag in loaded.stdout + loaded.stderr, f"load: {loaded.stdout}{loaded.stderr}")
        ran = podman(*store, "run", "--rm", tag, "--version")
        expect(ran.stdout.strip() == f"slotblock {version()}", f"--version: {ran.stdout}")
    finally:
        podman(*store, "rmi", "--all", "--force", check=False)
    timer.step(f"oci-archive ({size / 1e6:.0f} MB) loaded into an empty store and run")
    return size


def main() -> int:
    tag = f"localhost/slotblock:{version()}"
    timer = Timer()
    expect(podman("image", "exists", tag, check=False).returncode == 0, f"no {tag}: make image")
    print(f"image-test: {tag}")
    work = Path(tempfile.mkdtemp(prefix="slotblock-image-test-"))
    try:
        check(tag, timer, work)
        archive_bytes = check_archive(tag, tag, timer, work)
    except CheckFailed as exc:
        print(f"image-test: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = int(podman("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())
    print(
        f"image-test: passed in {timer.total():.0f} s; image {size / 1e6:.0f} MB "
        f"(uncompressed), oci-archive {archive_bytes / 1e6:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
