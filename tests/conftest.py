from __future__ import annotations

import re
import shutil

import pytest

import sbtui
from tests import registry as registries
from tests.quiet_sessions import QUIET_RUN, QuietRun
from tests.servers import IMAGE, ServerProcess, available_engines, new_state_dir
from tests.static_programs import programs  # noqa: F401 (a fixture for every test)

ENGINES = available_engines()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what they do
def pytest_collection_modifyitems(config, items):
    """Ten silent minutes run beside the rest of the run: started now, checked last."""
    quiet = [item for item in items if item.path.name == "test_quiet_sessions.py"]
    if not quiet or config.option.collectonly:
        return
    items[:] = [item for item in items if item not in quiet] + quiet
    config.stash[QUIET_RUN] = QuietRun()


def pytest_unconfigure(config):
    run = config.stash.get(QUIET_RUN, None)
    if run is not None:
        run.stop()


@pytest.fixture(scope="session", params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def registry():
    """A real image registry on 127.0.0.1 that the servers may pull from."""
    reg = registries.start()
    yield reg
    reg.stop()
    for engine in ENGINES:
        reg.remove_pulled(engine)
    shutil.rmtree(reg.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def server(engine, registry):
    """One shared server per engine for the tests that don't restart or reconfigure it."""
    proc = ServerProcess(engine, new_state_dir(engine), extra=["--insecure-registry", registry.host]).start()
    yield proc
    proc.dispose()


@pytest.fixture
async def client(server):
    async with sbtui.Client.connect(server.address) as c:
        yield c


@pytest.fixture
async def app(client, request):
    name = "t-" + re.sub(r"[^A-Za-z0-9.-]+", "-", request.node.name).strip("-")[:60]
    return await client.apps.from_name(name, create_if_missing=True)


@pytest.fixture
def image(client):
    return client.images.from_registry(IMAGE)


@pytest.fixture
async def sandbox(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120)
    yield sb
    await sb.terminate()
