"""README.md's shell blocks, run top to bottom as a reader would paste them into one shell.

The rules, for whoever writes in the README:

1. Code blocks are fenced (```` ```lang ````, at the start of the line). Blocks fenced as
   `sh`, `bash` or `console` are run; any other language (`text`, `json`, `yaml`,
   `python`, `nginx`…) is not. An indented code block fails this test: fence it, so that
   its language says whether it runs.
2. They run in README order, in one `bash` (`set -euo pipefail`), in a fresh temporary
   directory: variables, files, exports and background processes carry over from one
   block to the next, exactly as in a reader's shell. So a block may use what an earlier
   one set (`$LOC`, `$B`, `$TOKEN`…), and must leave what later blocks use (do not delete
   what the next section needs). A server is started in the background (`slotblock serve
   &`, then wait for `/readyz`), never in the foreground; every process the blocks start is
   stopped when the run ends.
3. In a `console` block only the lines starting with `$ ` run (and their `\\`
   continuation lines, without a leading `> `); the other lines are output.
4. A block that cannot run here (docker, podman, compose, `pip install` from PyPI, `make
   image`, a command that needs a clone or never returns) has, on the line right before
   its fence, `<!-- not run by the README test: <reason> -->`. The test counts them and
   fails on a marker that is not right before a shell block.
5. A fenced block right after a paragraph ending in "save this as `NAME`:" is written to
   `NAME` in the directory before the first block runs.
6. The environment: the checkout's virtualenv first on PATH (`slotblock`, `python3`,
   `pytest`), `.venv` in the directory linked to it (as after `make run`), no `SLOTBLOCK_`
   or `PYTEST_` variables of the caller. `127.0.0.1:8000` (the server) and `127.0.0.1:9000`
   (the webhook receiver) in a block are replaced by free ports, which `PORT` (read by
   `slotblock serve`) and `RECEIVER_PORT` (read by the README's receiver) also hold.
7. On failure the test shows the failing block's heading, its text and its output.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.live import free_port

NEEDS_CURL = pytest.mark.skipif(
    shutil.which("curl") is None and not IN_CI, reason="the README's blocks use curl"
)
README = Path(__file__).resolve().parents[1] / "README.md"
VENV_BIN = Path(sys.executable).parent
RUN = ("sh", "bash", "console")
SKIP = re.compile(r"^<!-- not run by the README test: (.+?) -->$")
SAVE = re.compile(r"save this as `([^`]+)`:$", re.IGNORECASE)
FENCE = re.compile(r"^```(\S*)\s*$")
SERVER, RECEIVER = "127.0.0.1:8000", "127.0.0.1:9000"
MARK = "::readme-block {}::"
TIMED = re.compile(r"::readme-block (\d+):: ([\d.]+)")
RUN_SECONDS = 300


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    heading: str
    line: int  # of the opening fence, 1-based
    skipped: str | None  # the marker's reason
    save_as: str | None

    @property
    def runs(self) -> bool:
        return self.language in RUN and self.skipped is None

    def script(self) -> str:
        if self.language != "console":
            return self.text
        lines, continued = [], False
        for line in self.text.splitlines():
            if continued:
                lines.append(line.removeprefix("> "))
            elif line.startswith("$ "):
                lines.append(line.removeprefix("$ "))
            else:
                continue
            continued = line.endswith("\\")
        return "\n".join(lines)


def blocks(text: str) -> list[Block]:
    """Every fenced block of the README, with its heading, marker and file name."""
    found: list[Block] = []
    lines = text.splitlines()
    heading, i = "(top)", 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if lines[i].startswith("#"):
            heading = lines[i]
        if not opening:
            i += 1
            continue
        end = lines.index("```", i + 1)
        before = [line for line in lines[:i] if line.strip()]
        skipped = SKIP.match(before[-1]) if before else None
        saved = SAVE.search(before[-1]) if before else None
        found.append(
            Block(
                opening.group(1),
                "\n".join(lines[i + 1 : end]),
                heading,
                i + 1,
                skipped.group(1) if skipped else None,
                saved.group(1) if saved else None,
            )
        )
        i = end + 1
    return found


def indented_blocks(text: str) -> list[int]:
    """Lines (1-based) where an indented code block starts, outside fences and lists."""
    starts, fenced, lines = [], False, text.splitlines()
    for n, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
        previous = lines[n - 1] if n else ""
        if not fenced and line.startswith("    ") and line.strip() and not previous.strip():
            earlier = [x for x in lines[:n] if x.strip()]
            if not earlier or not re.match(r"^(\s*[-*+]|\s*\d+\.|\s{2,})", earlier[-1]):
                starts.append(n + 1)
    return starts


def script(runnable: list[Block], ports: dict[str, str]) -> str:
    parts = ["set -euo pipefail"]
    for n, block in enumerate(runnable):
        body = block.script()
        for address, replacement in ports.items():
            body = body.replace(address, replacement)
        parts += [f"printf '\\n{MARK.format(n)} %s\\n' \"$(date +%s.%N)\"", body]
    parts.append(f"printf '\\n{MARK.format(len(runnable))} %s\\n' \"$(date +%s.%N)\"")
    return "\n".join(parts) + "\n"


def environment(server_port: int, receiver_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLOTBLOCK_", "PYTEST"))}
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env["PORT"], env["RECEIVER_PORT"] = str(server_port), str(receiver_port)
    return env


def run(folder: Path, text: str, env: dict[str, str]) -> tuple[int | None, str]:
    """Run `text` in bash in `folder`, its own process group, stopped (with everything it
    started) at the end; (exit status, or None past the deadline; its output)."""
    log = folder / ".readme-test.log"
    with log.open("w") as out:
        shell = subprocess.Popen(
            ["bash", "-c", text],
            cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            status: int | None = shell.wait(timeout=RUN_SECONDS)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            _stop_group(shell.pid)
    return status, log.read_text(errors="replace")


def _stop_group(pgid: int) -> None:
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def failure(runnable: list[Block], status: int | None, output: str) -> str:
    marks = re.findall(r"::readme-block (\d+)::", output)
    marks = [m for m in marks if int(m) < len(runnable)]
    block = runnable[int(marks[-1])] if marks else runnable[0]
    since = output.rsplit(MARK.format(marks[-1]), 1)[-1] if marks else output
    what = "did not finish in time" if status is None else f"exited with status {status}"
    return (
        f"the README's shell block at line {block.line}, under {block.heading!r}, {what}.\n"
        f"--- the block ---\n{block.text}\n--- its output ---\n{since[-4000:]}"
    )


def test_the_readme_follows_the_rules() -> None:
    text = README.read_text()
    assert indented_blocks(text) == [], "fence these code blocks (see this file's rules)"
    markers = [n + 1 for n, line in enumerate(text.splitlines()) if SKIP.match(line)]
    found = blocks(text)
    skipped = [b for b in found if b.skipped is not None]
    assert all(b.language in RUN for b in skipped), [b.line for b in skipped]
    assert len(skipped) == len(markers), f"markers not right before a shell block: {markers}"
    assert sum(b.runs for b in found) >= 20  # the parser finds them


SAMPLE = """# Sample

<!-- not run by the README test: docker -->
```sh
docker run nothing
```

## Shell

Save this as `hello.txt`:

```text
hello
```

```console
$ X=$(cat hello.txt) \\
>   && echo "got $X"
got hello
```

### Broken

```bash
echo "before the failure"
false
echo never
```
"""


def test_a_failing_block_is_named_with_its_heading_and_output(tmp_path: Path) -> None:
    found = blocks(SAMPLE)
    assert [(b.language, b.skipped, b.save_as) for b in found] == [
        ("sh", "docker", None), ("text", None, "hello.txt"), ("console", None, None),
        ("bash", None, None),
    ]  # fmt: skip
    (tmp_path / "hello.txt").write_text(found[1].text + "\n")
    runnable = [b for b in found if b.runs]
    assert runnable[0].script() == 'X=$(cat hello.txt) \\\n  && echo "got $X"'
    status, output = run(tmp_path, script(runnable, {}), environment(1, 2))
    assert status == 1
    report = failure(runnable, status, output)
    assert "under '### Broken'" in report and "exited with status 1" in report
    assert "before the failure" in report and "got hello" not in report.split("--- its output")[1]


@pytest.mark.slow
@NEEDS_CURL
def test_the_readme_shell_blocks_run_top_to_bottom(tmp_path: Path) -> None:
    found = blocks(README.read_text())
    for block in found:
        if block.save_as is not None:
            (tmp_path / block.save_as).write_text(block.text + "\n")
    (tmp_path / ".venv").symlink_to(VENV_BIN.parent)
    runnable = [b for b in found if b.runs]
    server_port, receiver_port = free_port(), free_port()
    ports = {SERVER: f"127.0.0.1:{server_port}", RECEIVER: f"127.0.0.1:{receiver_port}"}
    status, output = run(tmp_path, script(runnable, ports), environment(server_port, receiver_port))
    assert status == 0, failure(runnable, status, output)
    times = [(int(n), float(t)) for n, t in TIMED.findall(output)]
    assert [n for n, _ in times] == list(range(len(runnable) + 1))  # every block ran
    skipped = [b.skipped for b in found if b.skipped is not None]
    print(f"{len(runnable)} README shell blocks ran; {len(skipped)} not run: {skipped}")
    slowest = sorted(((b - a, runnable[n].line) for (n, a), (_, b) in pairwise(times)))
    print("slowest (seconds, line):", [(round(d, 1), line) for d, line in slowest[-5:]])
