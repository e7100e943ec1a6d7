"""The seccomp profile that keeps Podman sandboxes out of user namespaces and keyrings."""

from __future__ import annotations

import copy

from sbtui.server.runtime.seccomp import (
    CLONE_NEWUSER,
    ENOSYS,
    EPERM,
    KEYRING_CALLS,
    for_sandboxes,
    without_keyrings,
    without_user_namespaces,
)

# The shape of Podman's default profile: one rule allowing most calls whatever their arguments,
# and rules that depend on capabilities.
PODMAN_LIKE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": ENOSYS,
    "syscalls": [
        {
            "names": ["read", "clone", "clone3", "keyctl", "unshare", "write"],
            "action": "SCMP_ACT_ALLOW",
            "args": [],
            "includes": {},
            "excludes": {},
        },
        {
            "names": ["setns"],
            "action": "SCMP_ACT_ALLOW",
            "args": [],
            "includes": {"caps": ["CAP_SYS_ADMIN"]},
            "excludes": {},
        },
    ],
}


def _rules_for(profile: dict, name: str) -> list[dict]:
    return [r for r in profile["syscalls"] if name in r["names"]]


def _masked(rule: dict) -> tuple[int, int]:
    [arg] = rule["args"]
    assert arg["op"] == "SCMP_CMP_MASKED_EQ" and arg["value"] == CLONE_NEWUSER
    return arg["index"], arg["valueTwo"]


def test_unshare_is_allowed_without_the_flag_and_refused_with_it():
    profile = without_user_namespaces(PODMAN_LIKE)
    rules = {r["action"]: r for r in _rules_for(profile, "unshare")}
    assert set(rules) == {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"}
    assert _masked(rules["SCMP_ACT_ALLOW"]) == (0, 0)
    assert _masked(rules["SCMP_ACT_ERRNO"]) == (0, CLONE_NEWUSER)
    assert rules["SCMP_ACT_ERRNO"]["errnoRet"] == EPERM


def test_clone_looks_at_its_flags_argument_on_every_architecture():
    profile = without_user_namespaces(PODMAN_LIKE)
    rules = _rules_for(profile, "clone")
    assert len(rules) == 4
    for rule in rules:
        index, value = _masked(rule)
        s390 = rule["includes"].get("arches") == ["s390", "s390x"]
        assert index == (1 if s390 else 0)
        if not s390:
            assert rule["excludes"]["arches"] == ["s390", "s390x"]
        assert (rule["action"], value) in (("SCMP_ACT_ALLOW", 0), ("SCMP_ACT_ERRNO", CLONE_NEWUSER))


def test_clone3_answers_enosys_so_the_c_library_falls_back_to_clone():
    [rule] = _rules_for(without_user_namespaces(PODMAN_LIKE), "clone3")
    assert rule["action"] == "SCMP_ACT_ERRNO" and rule["errnoRet"] == ENOSYS and not rule["args"]


def test_everything_else_stays_as_the_default_has_it():
    profile = without_user_namespaces(PODMAN_LIKE)
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and profile["defaultErrnoRet"] == ENOSYS
    assert profile["syscalls"][0] == {
        "names": ["read", "keyctl", "write"],
        "action": "SCMP_ACT_ALLOW",
        "args": [],
        "includes": {},
        "excludes": {},
    }
    assert profile["syscalls"][1] == PODMAN_LIKE["syscalls"][1]
    # No rule is left that allows the guarded calls whatever their flags.
    for rule in profile["syscalls"]:
        if rule["action"] == "SCMP_ACT_ALLOW" and set(rule["names"]) & {"clone", "clone3", "unshare"}:
            assert rule["args"]


def test_the_given_profile_is_not_changed():
    given = copy.deepcopy(PODMAN_LIKE)
    without_user_namespaces(given)
    assert given == PODMAN_LIKE


def test_rules_that_already_restrict_namespaces_are_kept():
    # Docker's shape: clone allowed only without namespace flags, unshare only with CAP_SYS_ADMIN.
    docker_like = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {
                "names": ["clone"],
                "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
                "excludes": {"caps": ["CAP_SYS_ADMIN"]},
            },
            {
                "names": ["unshare", "mount"],
                "action": "SCMP_ACT_ALLOW",
                "includes": {"caps": ["CAP_SYS_ADMIN"]},
            },
        ],
    }
    assert without_user_namespaces(docker_like) == docker_like


def test_a_rule_limited_to_some_architectures_keeps_that_limit():
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}}],
    }
    rules = _rules_for(without_user_namespaces(profile), "clone")
    # amd64 only: no s390 rule, and the flags rules still apply to amd64 alone.
    assert [r["includes"]["arches"] for r in rules] == [["amd64"], ["amd64"]]
    assert all(_masked(r)[0] == 0 for r in rules)


def test_keyring_calls_are_refused_with_eperm_by_one_rule():
    profile = without_keyrings(PODMAN_LIKE)
    for name in KEYRING_CALLS:
        assert _rules_for(profile, name) == [
            {
                "names": ["add_key", "keyctl", "request_key"],
                "action": "SCMP_ACT_ERRNO",
                "errnoRet": EPERM,
                "args": [],
                "includes": {},
                "excludes": {},
            }
        ]
    # The rule that allowed keyctl lost it and kept everything else.
    assert profile["syscalls"][0] == dict(
        PODMAN_LIKE["syscalls"][0], names=["read", "clone", "clone3", "unshare", "write"]
    )
    assert profile["syscalls"][1] == PODMAN_LIKE["syscalls"][1]
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and profile["defaultErrnoRet"] == ENOSYS


def test_no_other_rule_names_a_keyring_call_whatever_its_action_or_condition():
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"name": "add_key", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["request_key", "keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS},
            {
                "names": ["keyctl"],
                "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
            },
            {"name": "read", "action": "SCMP_ACT_ALLOW"},
        ],
    }
    result = without_keyrings(profile)
    # Rules left with no call are gone; a rule naming other calls keeps them.
    assert result["syscalls"][:-1] == [{"name": "read", "action": "SCMP_ACT_ALLOW"}]
    assert result["syscalls"][-1]["names"] == list(KEYRING_CALLS)
    assert result["syscalls"][-1]["errnoRet"] == EPERM


def test_sandboxes_get_both_changes_and_the_given_profile_is_not_changed():
    given = copy.deepcopy(PODMAN_LIKE)
    profile = for_sandboxes(given)
    assert given == PODMAN_LIKE
    assert profile == without_keyrings(without_user_namespaces(PODMAN_LIKE))
    allowed = {
        n
        for r in profile["syscalls"]
        if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args")
        for n in r["names"]
    }
    assert allowed == {"read", "write", "setns"}
