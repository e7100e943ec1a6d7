from __future__ import annotations

import os
import re
import shutil

import pytest

import sbtui
from tests import registry as registries
from tests.quiet_sessions import QUIET_RUN, QUIET_SWARM_RUN, QuietRun
from tests.servers import (
    ENGINE_OPTIONS,
    HUNG_AFTER,
    IMAGE,
    ServerProcess,
    available_engines,
    engine_cli,
    engine_hung,
    log_sizes,
    new_state_dir,
    printed_since,
)
from tests.static_programs import programs  # noqa: F401 (a fixture for every test)
from tests.swarm_agents import SwarmAgents
from tests.swarm_cluster import HOST_ADDRESS, STATE_FILE, SwarmCluster

ENGINES = available_engines()
# The modules whose tests on an engine run on the swarm too, each wholly green there. The others
# test one engine's host by design (docs/scale-out.md): their swarm tests are deselected, and
# the run's summary says how many.
SWARM_READY = {
    "test_auth.py",
    "test_bad_input.py",
    "test_capabilities.py",
    "test_cli.py",
    "test_cli_images.py",
    "test_cli_injection.py",
    "test_client_leftovers.py",
    "test_client_streams.py",
    "test_confinement.py",
    "test_custom_domains.py",
    "test_embedded.py",
    "test_environment_networks.py",
    "test_environments.py",
    "test_fairness.py",
    "test_faults.py",
    "test_graceful_stop.py",
    "test_hostile_input.py",
    "test_images.py",
    "test_injection.py",
    "test_limits.py",
    "test_log_floods.py",
    "test_logs.py",
    "test_network.py",
    "test_network_matrix.py",
    "test_quiet_sessions.py",
    "test_revocation.py",
    "test_sandboxes.py",
    "test_secrets.py",
    "test_server_lifecycle.py",
    "test_snapshots.py",
    "test_state_engine.py",
    "test_tunnels.py",
    "test_volumes.py",
}


# The suite in two parts run side by side (bootstrap), each a pytest of its own with every
# engine: "engines" is what runs on Podman and Docker in tests/integration; "rest" is the unit and
# dashboard tests and everything on the swarm. Unset: the whole suite.
PART = os.environ.get("SBTUI_TEST_PART", "")


def _engine_of(item) -> str:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("engine", "") if callspec else ""


def _in_part(item) -> bool:
    if not PART:
        return True
    on_engines = item.path.parent.name == "integration" and not (
        item.get_closest_marker("swarm") or _engine_of(item) == "swarm"
    )
    return on_engines == (PART == "engines")


def _not_yet_on_swarm(item) -> bool:
    """SBTUI_TEST_SWARM_ALL=1 runs them all, to see where a module stands."""
    if os.environ.get("SBTUI_TEST_SWARM_ALL") == "1":
        return False
    return _engine_of(item) == "swarm" and item.path.name not in SWARM_READY


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what they do
def pytest_collection_modifyitems(config, items):
    """Ten silent minutes run beside the rest of the run: started now, checked last but for
    a restart of the swarm's manager. A test that makes a swarm cluster of its own goes first:
    the machine has room for one test swarm (its names and addresses are fixed), and the
    session's cluster, once made, stays up to the end. Tests on the swarm of modules not run
    there are left out (SWARM_READY)."""
    other_part = [item for item in items if not _in_part(item)]
    left_out = [item for item in items if _in_part(item) and _not_yet_on_swarm(item)]
    if other_part or left_out:
        config.hook.pytest_deselected(items=other_part + left_out)
        gone = set(other_part + left_out)
        items[:] = [item for item in items if item not in gone]
        config.stash[SWARM_LEFT_OUT] = len(left_out)
    items.sort(key=lambda item: "own_swarm_cluster" not in getattr(item, "fixturenames", ()))
    # A test that restarts the swarm's manager ends the sandboxes on it, the quiet sessions'
    # among them: it goes after them, last.
    items.sort(key=lambda item: item.get_closest_marker("restarts_the_manager") is not None)
    quiet = [item for item in items if item.path.name == "test_quiet_sessions.py"]
    if not quiet or config.option.collectonly:
        return
    last = [item for item in items if item.get_closest_marker("restarts_the_manager")]
    items[:] = [item for item in items if item not in quiet and item not in last] + quiet + last
    if any(_engine_of(item) != "swarm" for item in quiet):
        config.stash[QUIET_RUN] = QuietRun()
    # The swarm's starts with its agents (swarm_agents).
    config.stash[QUIET_ON_SWARM] = any(_engine_of(item) == "swarm" for item in quiet)


SWARM_LEFT_OUT = pytest.StashKey[int]()
QUIET_ON_SWARM = pytest.StashKey[bool]()


PRINTED_BEFORE = pytest.StashKey[dict]()
HUNG = pytest.StashKey[dict]()  # engine -> the test after whose failure it no longer answered


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[PRINTED_BEFORE] = log_sizes()
    engine = _engine_of(item)
    hung_after = item.config.stash.get(HUNG, {}).get(engine)
    if hung_after:
        pytest.fail(
            f"not run: {engine} stopped answering after {hung_after} failed (listing its "
            f"networks took over {HUNG_AFTER} s); every call that needs them would wait forever",
            pytrace=False,
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries what the servers running then printed during it: the
    server's side of a failure seen once in CI is otherwise lost with the run. After a failure
    the test's engine is asked to list its networks: one that no longer can is hung, and the
    tests after it on that engine fail at once instead of each waiting out its timeout."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    if call.when != "teardown":
        printed = printed_since(item.stash.get(PRINTED_BEFORE, {}))
        if printed:
            report.sections.append(("sbtui servers", printed))
    engine = _engine_of(item)
    hung = item.config.stash.setdefault(HUNG, {})
    if engine and engine not in hung and _hung_now(engine):
        hung[engine] = item.nodeid
        report.sections.append(
            (
                "engine",
                f"{engine} did not list its networks within {HUNG_AFTER} s after this failure: it is hung",
            )
        )


def _hung_now(engine: str) -> bool:
    try:
        return engine_hung(engine_cli(engine))
    except Exception:  # no engine left to ask (a test swarm already torn down): nothing to say
        return False


def pytest_terminal_summary(terminalreporter, config):
    left_out = config.stash.get(SWARM_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(
            f"swarm: {left_out} tests of modules that test one engine's host were left out (SWARM_READY "
            "in tests/conftest.py)"
        )


def pytest_unconfigure(config):
    run = config.stash.get(QUIET_RUN, None)
    if run is not None:
        run.stop()


@pytest.fixture(scope="session", params=ENGINES)
def engine(request) -> str:
    if request.param == "swarm":
        request.getfixturevalue("swarm_agents")  # the cluster, its agents, the servers' options
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


@pytest.fixture
def image_registry(server, registry, request):
    """A registry the engine under test pulls from: the loopback one; on the swarm, whose nodes
    each pull for themselves, one on the cluster's network that every node trusts."""
    if server.engine != "swarm":
        return registry
    return request.getfixturevalue("swarm_registry")


@pytest.fixture(scope="session")
def swarm_registry(swarm_cluster):
    reg = registries.start(HOST_ADDRESS, tls=True)
    swarm_cluster.trust(reg.host, reg.ca)
    yield reg
    reg.stop()
    swarm_cluster.distrust(reg.host)
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
def one_node(server, request) -> dict:
    """Create arguments that put a sandbox on one known node: on swarm, the manager (by its
    region), which the fault tests leave alone; elsewhere there is only the one engine. For
    tests whose subject is not the overlay between nodes, or that need the sandbox's host."""
    if server.engine != "swarm":
        return {}
    return request.getfixturevalue("swarm_cluster").on_manager


@pytest.fixture
async def sandbox(client, app, image):
    sb = await client.sandboxes.create(app, image, timeout=120)
    yield sb
    await sb.terminate()


@pytest.fixture(scope="session")
def swarm_cluster():
    """A real 3-node Docker Swarm (tests/swarm_cluster.py), made on first use and torn down
    completely at the end; one brought up beforehand (`python -m tests.swarm_cluster up`) is
    used as it is and left up."""
    existing = SwarmCluster.load()
    if existing is not None and existing.owned_by_another_process():
        raise RuntimeError(
            f"the test swarm cluster is in use by another test session (pid {existing.owner}), which "
            "tears it down as it ends; the machine has room for one: run this session after it"
        )
    if existing is not None:
        try:
            existing.wait_ready()
        except (RuntimeError, TimeoutError) as err:
            raise RuntimeError(
                f"the test swarm cluster {STATE_FILE} describes is not whole ({err}): tear it down with "
                "`python -m tests.swarm_cluster down`, then run again"
            ) from None
        yield existing
        return
    cluster = SwarmCluster().start()
    yield cluster
    cluster.stop()
    assert not cluster.leftovers(), f"the test swarm left {cluster.leftovers()}"


@pytest.fixture(scope="session")
def swarm_agents(swarm_cluster, request):
    """A node agent on each node of the test swarm; servers started with --engine swarm from
    here on get the options that reach the cluster (tests/servers.py ENGINE_OPTIONS)."""
    agents = SwarmAgents(swarm_cluster).start()
    ENGINE_OPTIONS["swarm"] = agents.server_options()
    if request.config.stash.get(QUIET_ON_SWARM, False):
        request.config.stash[QUIET_SWARM_RUN] = QuietRun(agents.server_options())
    yield agents
    quiet = request.config.stash.get(QUIET_SWARM_RUN, None)
    if quiet is not None:
        quiet.stop()  # its servers need the agents
    del ENGINE_OPTIONS["swarm"]
    agents.stop()


@pytest.fixture
def own_swarm_cluster():
    """A swarm cluster not yet started, for a test that starts and stops it itself; it runs
    before the session's cluster is made (pytest_collection_modifyitems)."""
    existing = SwarmCluster.load()
    if existing is not None and existing.owned_by_another_process():
        raise RuntimeError(
            f"a test swarm cluster is in use by another test session (pid {existing.owner}); the "
            "machine has room for one: run this test after that session"
        )
    if existing is not None:
        pytest.skip(
            "a test swarm cluster brought up with `python -m tests.swarm_cluster up` is in use; this "
            "test makes one of its own: run it once that one is down (`python -m tests.swarm_cluster down`)"
        )
    cluster = SwarmCluster()
    yield cluster
    cluster.stop()  # after a failure half way; a second stop finds nothing to do
