"""The scriptable CLI as a user runs it: `python -m sbtui ...` against a real server and engine."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from tests.servers import ROOT, ServerProcess, available_engines, new_state_dir, wait_for

# The CLI must find its server from --server alone, whatever the developer's shell exports.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("SBTUI_SERVER", "SBTUI_TOKEN")}


def sbtui(server, *args: str, input: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "sbtui", "--server", server.address, *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        cwd=ROOT,
        env=CLEAN_ENV,
    )
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    return result


def ok(server, *args: str, **kw) -> str:
    result = sbtui(server, *args, **kw)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def running(server):
    """A sandbox made by the CLI, shared by the exec tests of one engine."""
    sandbox_id = ok(server, "sandbox", "create", "--app", "cli-exec", "--timeout", "5m").strip()
    yield sandbox_id
    sbtui(server, "sandbox", "terminate", sandbox_id)


def test_create_list_tags_and_terminate(server):
    web = ok(
        server,
        "sandbox",
        "create",
        "--app",
        "cli-list",
        "--name",
        "web",
        "--env",
        "GREETING=hi there",
        "--tag",
        "team=x",
        "--tag",
        "env=prod",
        "--timeout",
        "1h30m",
        "--workdir",
        "/work",
        "--",
        "sh",
        "-c",
        "echo $GREETING > greeting; sleep 600",
    ).strip()
    assert web.startswith("sb-")
    made = json.loads(ok(server, "sandbox", "create", "--app", "cli-list", "--tag", "env=dev", "--json"))
    other = made["sandbox_id"]
    assert made["tags"] == {"env": "dev"} and made["state"] == "running"

    table = ok(server, "sandbox", "list", "--app", "cli-list").splitlines()
    assert table[0].split() == ["ID", "NAME", "APP", "IMAGE", "STATE", "NODE", "AGE", "TAGS"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert set(rows) == {web, other}
    assert rows[web][1:5] == ["web", "cli-list", "localhost/sbtui/busybox:latest", "running"]
    assert rows[web][7] == "env=prod,team=x"

    prod = json_lines(ok(server, "sandbox", "list", "--app", "cli-list", "--tag", "env=prod", "--json"))
    assert [(s["sandbox_id"], s["name"], s["tags"]) for s in prod] == [
        (web, "web", {"env": "prod", "team": "x"})
    ]
    assert prod[0]["deadline"] - prod[0]["created_at"] == pytest.approx(5400, abs=1)

    # APP/NAME finds the sandbox; its command ran in --workdir and saw --env, space intact.
    wait_file = "while [ ! -s /work/greeting ]; do sleep 0.05; done; cat /work/greeting"
    said = ok(server, "sandbox", "exec", "cli-list/web", "--", "sh", "-c", wait_file, timeout=20)
    assert said == "hi there\n"

    assert ok(server, "sandbox", "tags", other) == "env=dev\n"
    ok(server, "sandbox", "tags", other, "a=1", "b=x=y")
    assert json.loads(ok(server, "sandbox", "tags", other, "--json")) == {"a": "1", "b": "x=y"}

    assert ok(server, "sandbox", "terminate", "--wait", "cli-list/web").strip() == "137"
    left = json_lines(ok(server, "sandbox", "list", "--app", "cli-list", "--json"))
    assert [s["sandbox_id"] for s in left] == [other]
    every = json_lines(ok(server, "sandbox", "list", "--app", "cli-list", "--all", "--json"))
    every = {s["sandbox_id"]: s for s in every}
    assert every[web]["state"] == "finished" and every[web]["exit_code"] == 137
    ok(server, "sandbox", "terminate", other)


async def test_list_says_where_each_sandbox_runs_and_filters_by_node(server, request):
    placed: tuple[str, ...] = ()
    if server.engine == "swarm":  # on a worker: the node named is the task's, not the manager's
        host = request.getfixturevalue("swarm_cluster").nodes_with(cloud="gcp")[0].hostname
        placed = ("--cloud", "gcp")
    else:
        host = await server.engine_host()
    made = ok(server, "sandbox", "create", "--app", "cli-node", "--timeout", "2m", *placed).strip()
    try:
        header, row = (
            line.split() for line in ok(server, "sandbox", "list", "--app", "cli-node").splitlines()
        )
        assert dict(zip(header, row))["NODE"] == host and row[0] == made
        on_host = json_lines(ok(server, "sandbox", "list", "--app", "cli-node", "--node", host, "--json"))
        assert [(s["sandbox_id"], s["node"]) for s in on_host] == [(made, host)]
        elsewhere = ok(server, "sandbox", "list", "--app", "cli-node", "--node", host + "-elsewhere")
        assert elsewhere.splitlines()[1:] == []  # the header alone
    finally:
        ok(server, "sandbox", "terminate", made)


def test_exec_passes_exit_code_and_keeps_stderr_apart(server, running):
    result = sbtui(
        server,
        "sandbox",
        "exec",
        "--workdir",
        "/etc",
        "--env",
        "A=x",
        running,
        "--",
        "sh",
        "-c",
        "pwd; echo out:$A; echo err >&2; exit 7",
    )
    assert (result.returncode, result.stdout, result.stderr) == (7, b"/etc\nout:x\n", b"err\n")


def test_exec_forwards_stdin_until_eof_only_with_i(server, running):
    data = b"line 1\n" + bytes(range(256)) * 400  # binary and bigger than one chunk
    result = sbtui(server, "sandbox", "exec", "-i", running, "--", "sh", "-c", "cat; echo end")
    assert (result.returncode, result.stdout) == (0, b"end\n")  # /dev/null: EOF at once
    result = sbtui(server, "sandbox", "exec", "-i", running, "--", "sh", "-c", "cat; echo end", input=data)
    assert (result.returncode, result.stdout) == (0, data + b"end\n")
    # Without -i the command reads EOF at once instead of waiting for input that never comes.
    assert ok(server, "sandbox", "exec", running, "--", "cat", input=b"ignored", timeout=20) == ""


def test_exec_timeout_exits_124(server, running):
    result = sbtui(server, "sandbox", "exec", "--timeout", "1s", running, "--", "sleep", "60")
    assert result.returncode == 124 and b"timed out" in result.stderr


def test_wait_makes_the_sandbox_exit_code_ours(server):
    sandbox_id = ok(server, "sandbox", "create", "--app", "cli-wait", "--", "sh", "-c", "exit 7").strip()
    assert sbtui(server, "sandbox", "wait", sandbox_id).returncode == 7


def test_bad_input_says_what_is_wrong(server):
    result = sbtui(server, "sandbox", "create", "--app", "cli-never", "--timeout", "5x")
    assert result.returncode == 2 and b"--timeout 5x: not a duration" in result.stderr
    assert b"1h30m" in result.stderr  # says what would be accepted
    result = sbtui(server, "sandbox", "exec", "--env", "FOO", "sb-x", "--", "true")
    assert result.returncode == 2 and b"--env FOO: expected KEY=VALUE" in result.stderr
    result = sbtui(server, "sandbox", "exec", "sb-doesnotexist", "--", "true")
    assert result.returncode == 3
    assert result.stderr.startswith(b"sbtui: error: ") and b"sb-doesnotexist" in result.stderr
    result = sbtui(server, "sandbox", "tags", "cli-never/ghost")
    assert result.returncode == 3 and b"ghost" in result.stderr
    apps = [a["name"] for a in json_lines(ok(server, "app", "list", "--json"))]
    assert "cli-never" not in apps  # a usage error reached nothing


def test_create_passes_every_parameter_for_the_server_to_judge(server):
    """Flags for what the local engine can't do reach the server, whose refusal names the field.
    On swarm cloud and regions choose among the nodes' labels: a place no node is in is refused
    naming the label."""
    on_swarm = server.engine == "swarm"
    for flag, value, field in (
        ("--gpu", "T4", b"gpu"),
        ("--cloud", "mars" if on_swarm else "aws", b"sbtui.cloud=mars" if on_swarm else b"cloud"),
        ("--region", "eu-west-1", b"sbtui.region in (eu-west-1)" if on_swarm else b"regions"),
        ("--proxy", "pr-1", b"proxy_id"),
        ("--cloud-bucket", "/data=my-bucket", b"cloud_bucket_mounts"),
    ):
        result = sbtui(server, "sandbox", "create", "--app", "cli-refused", flag, value)
        assert result.returncode == 1, (flag, result.stderr)
        if field.startswith(b"sbtui."):
            refusal = b"sbtui: error: the engine could not start the sandbox: no node can take the sandbox: "
            assert result.stderr.startswith(refusal + b"no ready node has " + field), result.stderr
        else:
            assert result.stderr.startswith(b"sbtui: error: " + field + b" is not supported"), result.stderr
    assert ok(server, "sandbox", "list", "--app", "cli-refused").count("\n") == 1  # header only


def test_unreachable_server_exits_4():
    result = subprocess.run(
        [sys.executable, "-m", "sbtui", "--server", "127.0.0.1:1", "app", "list"],
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        env=CLEAN_ENV,
    )
    assert result.returncode == 4 and result.stderr.startswith(b"sbtui: error: lost the connection")
    assert b"Traceback" not in result.stderr


def test_token_comes_from_the_option_or_the_environment_and_is_never_printed():
    engine = "docker" if "docker" in available_engines() else available_engines()[0]
    state = new_state_dir(engine + "-cli-token")
    token = "tok-" + "cli-s3cr3t" * 4
    (state / "token").write_text(token)
    server = ServerProcess(
        engine, state, extra=["--listen", "127.0.0.1:0", "--insecure", "--token-file", str(state / "token")]
    ).start()
    try:
        refused = sbtui(server, "app", "list")
        assert refused.returncode == 5 and b"token is required" in refused.stderr
        wrong = sbtui(server, "--token", token[:-1], "app", "list")
        assert wrong.returncode == 5 and token[:-1].encode() not in wrong.stderr + wrong.stdout
        listed = subprocess.run(
            [sys.executable, "-m", "sbtui", "app", "list", "--server", server.address, "--json"],
            capture_output=True,
            timeout=60,
            cwd=ROOT,
            env=dict(CLEAN_ENV, SBTUI_TOKEN=token),
        )
        assert (listed.returncode, listed.stdout) == (0, b"")
    finally:
        server.dispose()


class Terminal:
    """A real pseudo-terminal for the CLI, read and typed into like a person would."""

    def __init__(self, rows: int, cols: int) -> None:
        self.master, self.slave = pty.openpty()
        self.resize(rows, cols)
        self.seen = b""

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def read_until(self, needle: bytes, timeout: float) -> bool:
        """Collect output until `needle` appears after what was already matched."""
        deadline = time.monotonic() + timeout
        while (at := self.seen.find(needle)) < 0:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                return False
            self.seen += os.read(self.master, 65536)
        self.seen = self.seen[at + len(needle) :]
        return True

    def expect(self, needle: bytes, timeout: float = 20) -> None:
        found = self.read_until(needle, timeout)
        assert found, f"no {needle!r} on the terminal; saw {self.seen[-500:]!r}"

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


def start_in_terminal(server, term: Terminal, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sbtui", "--server", server.address, *args],
        stdin=term.slave,
        stdout=term.slave,
        stderr=term.slave,
        cwd=ROOT,
        env=CLEAN_ENV,
        start_new_session=True,
    )


@pytest.fixture
def terminal():
    term = Terminal(30, 100)
    children: list[subprocess.Popen] = []
    yield term, children
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()
    term.close()


def test_exec_it_is_a_raw_terminal_that_follows_the_window(server, running, terminal):
    term, children = terminal
    cooked = termios.tcgetattr(term.slave)
    child = start_in_terminal(server, term, "sandbox", "exec", "-it", running, "--", "sh")
    children.append(child)
    term.expect(b"# ")  # the shell's prompt: the session is up
    lflag = termios.tcgetattr(term.slave)[3]
    assert not lflag & (termios.ICANON | termios.ECHO | termios.ISIG), "local terminal is not raw"
    term.type("stty size\r")
    term.expect(b"30 100")

    term.resize(40, 120)
    child.send_signal(signal.SIGWINCH)
    # The resize and the typed line travel apart: ask again until the new size shows.
    wait_for(lambda: term.type("stty size\r") or term.read_until(b"40 120", 1), 20, "the new size")

    # Ctrl-C is a byte for the sandbox's shell, not a signal that ends the CLI.
    term.type("sh -c 'echo sleeping; exec sleep 30'\r")
    term.expect(b"sleeping\r\n")
    term.type("\x03")
    term.type("echo alive-$((6*7))\r")
    term.expect(b"alive-42")
    term.type("exit 5\r")
    assert child.wait(20) == 5
    assert termios.tcgetattr(term.slave) == cooked, "the terminal was not restored"


def test_exec_it_restores_the_terminal_when_killed(server, running, terminal):
    term, children = terminal
    cooked = termios.tcgetattr(term.slave)
    child = start_in_terminal(server, term, "sandbox", "exec", "-it", running, "--", "sh")
    children.append(child)
    term.expect(b"# ")
    assert termios.tcgetattr(term.slave) != cooked
    child.terminate()
    assert child.wait(20) == 128 + signal.SIGTERM
    assert termios.tcgetattr(term.slave) == cooked, "the terminal was left raw"


@pytest.mark.parametrize(
    "args, words",
    [
        (
            ["sandbox", "create", "--app", "cli-bad", "--memory", str(2**70)],
            f"argument --memory: {2**70} is outside 1..{2**63 - 1}",
        ),
        (
            ["sandbox", "create", "--app", "cli-bad", "--memory-limit", "-4"],
            "argument --memory-limit: -4 is outside",
        ),
        (
            ["sandbox", "logs", "--tail", "9" + "0" * 29, "sb-x"],
            "argument --tail: 9" + "0" * 29 + " is outside 0..2147483647",
        ),
        (["sandbox", "logs", "--tail", "9e29", "sb-x"], "argument --tail: '9e29' is not a whole number"),
    ],
)
def test_hostile_numbers_are_usage_errors(server, args, words):
    result = sbtui(server, *args)
    assert result.returncode == 2 and words in result.stderr.decode(), result.stderr.decode()


def test_hostile_cpu_is_refused_by_the_server_and_leaves_nothing(server):
    result = sbtui(server, "sandbox", "create", "--app", "cli-bad-cpu", "--cpu", "1e308")
    assert result.returncode == 1
    assert "cpu: 1e+308 cores is more than the" in result.stderr.decode()
    listed = ok(server, "sandbox", "list", "--app", "cli-bad-cpu", "--all", "--json")
    assert listed.strip() == ""
