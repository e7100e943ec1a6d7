"""The seccomp profile of Podman sandboxes: Podman's default, with what Docker's default refuses
and Podman's allows refused too.

User namespaces. Docker's default profile lets clone and unshare create namespaces only with
CAP_SYS_ADMIN, which sandboxes never have. Podman's default profile allows both outright and
leaves the kernel's capability checks to decide; but a user namespace needs no capability, and
inside one a process holds every capability over the new namespaces it makes (mounts, networks,
...), which opens far more of the kernel to it. So creating a user namespace fails with EPERM.

Keyrings. The kernel's keyrings are not namespaced by containers: a user keyring belongs to a
uid, so root in a sandbox finds the host root's user keyring (the same key id as on the host)
and may read, add to and link what the host's root keeps there, or fill its quota. Docker's
default profile refuses keyctl, add_key and request_key with EPERM; Podman's allows keyctl (and
answers the other two ENOSYS), so all three fail with EPERM.

Every other rule stays as the engine's default has it.

Podman's compat API takes a profile by its path, so the profile is written as a file into the
server's state directory, from the default profile Podman names in its security settings.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from sbtui.server.runtime.base import EngineError

CLONE_NEWUSER = 0x10000000
EPERM = 1
ENOSYS = 38
# clone takes its flags first, except on s390, where the stack comes first.
_S390 = ["s390", "s390x"]
_GUARDED = ("clone", "clone3", "unshare")
KEYRING_CALLS = ("add_key", "keyctl", "request_key")


def for_sandboxes(profile: dict) -> dict:
    """`profile` (a containers/Docker seccomp JSON profile) with neither user namespaces nor
    keyrings; the given dict is left as it was."""
    return without_keyrings(without_user_namespaces(profile))


def _flags_rule(names: list[str], index: int, newuser: bool, base: dict) -> dict:
    rule = {
        "names": names,
        "action": "SCMP_ACT_ERRNO" if newuser else "SCMP_ACT_ALLOW",
        "args": [
            {
                "index": index,
                "value": CLONE_NEWUSER,
                "valueTwo": CLONE_NEWUSER if newuser else 0,
                "op": "SCMP_CMP_MASKED_EQ",
            }
        ],
        "includes": copy.deepcopy(base.get("includes") or {}),
        "excludes": copy.deepcopy(base.get("excludes") or {}),
    }
    if newuser:
        rule["errnoRet"] = EPERM
    return rule


def _on_arches(rule: dict, arches: list[str], only: bool) -> dict | None:
    """`rule` limited to (only=True) or kept off (only=False) `arches`; None if no arch is left."""
    included = rule["includes"].get("arches")
    if only:
        wanted = [a for a in arches if included is None or a in included]
        if not wanted:
            return None
        rule["includes"]["arches"] = wanted
    else:
        if included is not None and all(a in arches for a in included):
            return None
        rule["excludes"]["arches"] = sorted(set(rule["excludes"].get("arches", [])) | set(arches))
    return rule


def _needs_sys_admin(rule: dict) -> bool:
    return "CAP_SYS_ADMIN" in ((rule.get("includes") or {}).get("caps") or [])


def without_user_namespaces(profile: dict) -> dict:
    """`profile` (a containers/Docker seccomp JSON profile) where clone, clone3 and unshare can
    no longer create a user namespace; everything else is left as it was.

    Rules that allow these calls whatever their arguments become two: allowed when the flags
    lack CLONE_NEWUSER, EPERM when they have it. clone3 passes its flags in memory, where seccomp
    can't look, so it answers ENOSYS, as on Docker: the C library then falls back to clone.
    Rules that already look at the flags, and rules that need CAP_SYS_ADMIN, are kept.
    """
    result = copy.deepcopy(profile)
    added: list[dict] = []
    kept: list[dict] = []
    for rule in result.get("syscalls") or []:
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        guarded = [n for n in names if n in _GUARDED]
        unconditional = rule.get("action") == "SCMP_ACT_ALLOW" and not rule.get("args")
        if not guarded or not unconditional or _needs_sys_admin(rule):
            kept.append(rule)
            continue
        rest = [n for n in names if n not in _GUARDED]
        if rest:
            rule = dict(rule, names=rest)
            rule.pop("name", None)
            kept.append(rule)
        if "unshare" in guarded:
            added += [_flags_rule(["unshare"], 0, newuser, rule) for newuser in (False, True)]
        if "clone" in guarded:
            for newuser in (False, True):
                for index, only in ((0, False), (1, True)):
                    limited = _on_arches(_flags_rule(["clone"], index, newuser, rule), _S390, only)
                    if limited is not None:
                        added.append(limited)
        if "clone3" in guarded:
            added.append(
                {
                    "names": ["clone3"],
                    "action": "SCMP_ACT_ERRNO",
                    "errnoRet": ENOSYS,
                    "args": [],
                    "includes": copy.deepcopy(rule.get("includes") or {}),
                    "excludes": copy.deepcopy(rule.get("excludes") or {}),
                }
            )
    result["syscalls"] = kept + added
    return result


def without_keyrings(profile: dict) -> dict:
    """`profile` where keyctl, add_key and request_key fail with EPERM whatever their arguments
    and the caller's capabilities: they are taken out of every rule (a rule left with no call
    goes), and one rule refuses them, so no other rule can match them first or conflict."""
    result = copy.deepcopy(profile)
    kept: list[dict] = []
    for rule in result.get("syscalls") or []:
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        rest = [n for n in names if n not in KEYRING_CALLS]
        if len(rest) == len(names):
            kept.append(rule)
        elif rest:
            rule = dict(rule, names=rest)
            rule.pop("name", None)
            kept.append(rule)
    kept.append(
        {
            "names": list(KEYRING_CALLS),
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": EPERM,
            "args": [],
            "includes": {},
            "excludes": {},
        }
    )
    result["syscalls"] = kept
    return result


def write_podman_profile(security: dict, state_dir: Path | None) -> str:
    """Write the sandboxes' profile, made from Podman's default, into `state_dir`; return its
    path. `security` is the `host.security` part of Podman's info (libpod/info)."""
    if not security.get("seccompEnabled"):
        raise EngineError(
            "Podman runs without seccomp on this host, so a sandbox could create user "
            "namespaces; install libseccomp2 and a Podman built with seccomp to run sandboxes"
        )
    source = security.get("seccompProfilePath") or ""
    try:
        with open(source, encoding="utf-8") as f:
            default = json.load(f)
    except (OSError, ValueError) as err:
        raise EngineError(
            f"Podman's default seccomp profile {source!r} could not be read ({err}); sandboxes "
            "on Podman start from it: reinstall containers-common (Debian: "
            "golang-github-containers-common) or set seccomp_profile in containers.conf"
        ) from None
    if state_dir is None:
        raise EngineError("this runtime has no state directory to write Podman's seccomp profile to")
    path = state_dir / "podman-seccomp.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(for_sandboxes(default)))
    os.replace(partial, path)  # a sandbox starting meanwhile never reads half a profile
    return str(path)
