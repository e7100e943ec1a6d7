"""`pip install` gives a working sbtui: a wheel built from the repo holds every file of the
package, and, installed into a new virtualenv outside the checkout, its `sbtui` command talks to
a real server and its dashboard starts with its stylesheet."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.servers import ROOT, wait_for

# Run by the new virtualenv's Python in isolated mode (-I: neither PYTHONPATH nor the current
# directory is on sys.path), so everything of sbtui comes from the installed wheel.
DASHBOARD = """
import asyncio
import sys
import time
from pathlib import Path

import sbtui
from textual.color import Color
from sbtui.tui.app import SbtuiApp

venv, checkout, address, sandbox_id = sys.argv[1:]
assert Path(sbtui.__file__).is_relative_to(venv), f"sbtui was imported from {sbtui.__file__}"
assert not any(Path(p or ".").resolve() == Path(checkout) for p in sys.path), sys.path


async def main():
    app = SbtuiApp(address=address, readonly=True, keymap_path=Path("/nonexistent/sbtui/keys.toml"))
    async with app.run_test(size=(160, 40)) as pilot:
        deadline = time.monotonic() + 30
        while not (app.store.synced and sandbox_id in app.screen.rows.ids()):
            assert time.monotonic() < deadline, "the sandbox did not appear in the list within 30 s"
            await pilot.pause(0.05)
        # app.tcss paints the screen in $surface; without it Textual's default is $background.
        surface = Color.parse(app.get_css_variables()["surface"])
        assert app.screen.styles.background == surface, app.screen.styles.background
        print("listed", sandbox_id, "on a", app.screen.styles.background.hex, "screen")


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel` builds from the checkout's package and project files."""
    # Built from a copy: setuptools leaves a build/ folder behind, and the files an earlier build
    # left there would end up in the next wheel.
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(ROOT / "sbtui", source / "sbtui", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(dist),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = dist.glob("sbtui-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A new virtualenv outside the checkout with the wheel installed in it. The third-party
    dependencies are the running environment's, named by a .pth line, so no package index is
    needed; a directory named that way is only put on sys.path (its own .pth files, such as an
    editable install's finder, are not run), and comes after the wheel's site-packages."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site = subprocess.run(
        [python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root


def run_in(venv: Path, *argv: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")} | env
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_wheel_holds_every_file_of_the_package(wheel):
    in_tree = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "sbtui").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(wheel) as z:
        in_wheel = {name for name in z.namelist() if name.startswith("sbtui/")}
    assert sorted(in_tree - in_wheel) == [], "files of the package missing from the wheel"
    assert sorted(in_wheel - in_tree) == [], "files in the wheel that the package does not have"


@pytest.mark.engine
async def test_the_installed_wheel_runs_sbtui_and_its_dashboard(venv, server, client, app, image, tmp_path):
    sb = await client.sandboxes.create(app, image, timeout=120)
    try:
        info = run_in(venv, str(venv / "bin" / "sbtui"), "--server", server.address, "info", cwd=tmp_path)
        assert info.returncode == 0, info.stderr
        assert f"engine      {server.engine}" in info.stdout

        dashboard = run_in(
            venv,
            str(venv / "bin" / "python"),
            "-I",
            "-c",
            DASHBOARD,
            str(venv),
            str(ROOT),
            server.address,
            sb.sandbox_id,
            cwd=tmp_path,
        )
        assert dashboard.returncode == 0, dashboard.stderr[-3000:]
        assert f"listed {sb.sandbox_id}" in dashboard.stdout
    finally:
        await sb.terminate()


@pytest.mark.engine
def test_the_local_server_it_starts_is_its_own_even_in_a_checkout(venv, engine, tmp_path):
    # `sbtui` run inside a folder holding another sbtui (a checkout of another version) starts
    # its local server from its own installation, not from that folder.
    decoy = tmp_path / "checkout" / "sbtui"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise SystemExit('the sbtui of the current directory ran')\n")
    (decoy / "__main__.py").write_text("")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    info = run_in(
        venv,
        str(venv / "bin" / "sbtui"),
        "info",
        cwd=decoy.parent,
        SBTUI_ENGINE=engine,
        XDG_RUNTIME_DIR=str(runtime),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    found = re.search(r"pid (\d+)", info.stdout)
    if found:  # the local server it started: stopped by its pid
        pid = int(found.group(1))
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), 60, "the local server to stop")
    assert info.returncode == 0, info.stderr
    assert f"engine      {engine}" in info.stdout
