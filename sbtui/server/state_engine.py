"""The engine a state directory belongs to, kept in its `engine` file, and keeping to it.

The records in a state directory name containers, images and volumes of one engine; another
engine knows none of them. A server on another engine would list the sandboxes still running
on the first as finished or lost, stop enforcing their timeouts, and record the base image a
second time. So the engine a state directory is first used with is written down, and a server
never switches silently: the automatic choice takes the recorded engine (or fails saying how to
choose when it does not answer), and an explicit choice of another engine is refused. Nothing
is marked in the records before the engine is settled.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

from sbtui.server.runtime import engine as engines
from sbtui.server.runtime import naming
from sbtui.server.runtime.base import EngineUnavailable
from sbtui.server.store import Store

log = logging.getLogger("sbtui.server")

FILE = "engine"
NAMES = ("docker", "podman")  # the engines of one machine, either of which the automatic choice finds
RECORDED = (*NAMES, "swarm")


class EngineChoiceError(Exception):
    """The server can't use the engine chosen with this state directory; the message says how
    to choose."""


def _elsewhere(engine: str) -> str:
    return (
        f"give {engine} a state directory of its own (--state-dir, or XDG_STATE_HOME for "
        "the local server the dashboard and CLI start)"
    )


def recorded(state_dir: Path) -> str | None:
    """The engine the state in `state_dir` was made with; None if it does not say."""
    path = state_dir / FILE
    try:
        name = path.read_text().strip()
    except FileNotFoundError:
        return None
    if name not in RECORDED:
        raise EngineChoiceError(
            f"{path} names the engine {name!r}; it holds the engine the state in {state_dir} "
            f"was made with, one of {', '.join(RECORDED)}: write the right one there"
        )
    return name


def record(state_dir: Path, name: str) -> None:
    """Write `name` as the engine of `state_dir`: whole or not at all (a rename)."""
    path = state_dir / FILE
    partial = path.with_name(f".{FILE}.{os.getpid()}")
    with open(partial, "w") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


async def connect(
    choice: str,
    url: str | None,
    state_dir: Path,
    insecure_registries: list[str],
    store: Store,
    server_id: Callable[[], str],
    cluster: engines.Cluster | None = None,
) -> engines.Engine:
    """Connect to the engine of `state_dir`: the recorded one, or for a state not yet bound to
    one, the engine `choice` ("auto", "docker" or "podman") finds, which is then recorded.
    `store` holds the state's records; `server_id()` gives the id its servers label what they
    make with (asked only when the records are looked at, so a failed start leaves none)."""
    if choice == "auto":  # DOCKER_HOST says where the engine answers
        url = url or os.environ.get("DOCKER_HOST") or None
    kept = recorded(state_dir)
    if kept is None:
        engine = await _bind(choice, url, state_dir, insecure_registries, store, server_id, cluster)
        record(state_dir, engine.runtime.name)
        log.info("the state in %s is %s's from now on", state_dir, engine.runtime.name)
        return engine
    if choice not in ("auto", kept):
        raise EngineChoiceError(
            f"the state in {state_dir} belongs to {kept} (recorded in {state_dir / FILE}): its "
            f"sandboxes, images and volumes are {kept}'s, and {choice} does not know them. To use "
            f"{choice}, {_elsewhere(choice)}; to go on with this state, choose {kept} "
            f"(--engine {kept} or SBTUI_ENGINE={kept})"
        )
    if choice == "auto":
        log.info("the state in %s belongs to %s: keeping to it", state_dir, kept)
    try:
        return await engines.connect(kept, url, state_dir, insecure_registries, cluster)
    except EngineUnavailable as err:
        if choice != "auto":
            raise
        if kept == "swarm":  # a cluster is not started here: the server lacks how to reach it
            lack, go_on = "the swarm is not reached", "Give --engine swarm with the cluster's options"
        else:
            lack, go_on = f"{kept} is not there", f"Start {kept}"
        raise EngineChoiceError(
            f"the state in {state_dir} belongs to {kept} (recorded in {state_dir / FILE}), and "
            f"{lack}: {err}. {go_on} to go on with this state; to use another "
            f"engine, choose it (--engine or SBTUI_ENGINE) and {_elsewhere('it')}"
        ) from None


async def _bind(
    choice: str,
    url: str | None,
    state_dir: Path,
    insecure_registries: list[str],
    store: Store,
    server_id: Callable[[], str],
    cluster: engines.Cluster | None,
) -> engines.Engine:
    """The engine a state with no engine file is to be bound to.

    Such a state is new, or was made before servers recorded their engine. Made before, its
    records don't say which engine they are of, and a server then took whichever answered:
    Docker when it did, else Podman, so either may have made them. The sandboxes it holds as
    running tell: their containers, labelled with this state's server id, are on the engine
    that made them, where they may well still run, and any other engine would mark them all
    lost. So the engine bound to is one that holds at least one of them (the others may have
    been removed behind the server's back, which the reconcile then rightly reports as lost):
    the one chosen, or with the automatic choice and no engine address given, the other one
    when the first found holds none. Failing that, nothing is recorded and the server does not
    start; the message says how to choose.
    """
    running = {r.container_id for r in store.load_sandboxes() if not r.finished and r.container_id}
    engine = await engines.connect(choice, url, state_dir, insecure_registries, cluster)
    if not running or choice == "swarm":
        return engine  # new, or nothing running that another engine could misjudge
    first = engine.runtime.name
    tried = [first]
    if await _holds(engine, running, server_id):
        return engine
    if choice == "auto" and url is None:
        other = next(n for n in NAMES if n != first)
        try:
            engine = await engines.connect(other, None, state_dir, insecure_registries)
        except EngineUnavailable:
            pass  # not there: the message below says to start the engine they run on
        else:
            tried.append(other)
            if await _holds(engine, running, server_id):
                log.info("the %d sandboxes %s holds as running are on %s", len(running), state_dir, other)
                return engine
    if len(tried) == 1:
        other = next(n for n in NAMES if n != first)
        how = f"choose {other} (--engine {other} or SBTUI_ENGINE={other}), and start it"
    else:
        how = "start the engine they run on"
    raise EngineChoiceError(
        f"the state in {state_dir} was made before servers recorded the engine of a state, and "
        f"none of the {len(running)} sandboxes it holds as running is on {' or '.join(tried)}. "
        f"To go on with them, {how}; to use {first}, {_elsewhere(first)}; or, if they no longer "
        f"run anywhere, write the engine to use into {state_dir / FILE}"
    )


async def _holds(engine: engines.Engine, containers: set[str], server_id: Callable[[], str]) -> bool:
    """Whether `engine` holds any of `containers` (made by this state's server); an engine
    that does not is closed."""
    try:
        found = await engine.runtime.list_managed(naming.owned_by(server_id()))
    except BaseException:
        await engine.close()
        raise
    if containers & {c.container_id for c in found}:
        return True
    await engine.close()
    return False
