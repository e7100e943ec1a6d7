"""keys.toml: remapping by binding id, and clear messages for entries that can't apply."""

from __future__ import annotations

from sbtui.tui.keymap import ALL_KEYS, KNOWN_IDS, parse_keymap


def test_every_binding_has_a_unique_id_per_action():
    by_id: dict[str, set[str]] = {}
    for key in ALL_KEYS:
        assert key.id, key
        by_id.setdefault(key.id, set()).add(key.action)
    # One id may serve several screens, but always for the same action.
    assert all(len(actions) == 1 for actions in by_id.values()), by_id


def test_tables_strings_and_lists_map_ids_to_keys():
    keymap, problems = parse_keymap('quit = "ctrl+q"\nopen = ["enter", "o"]\n[sort]\nname = "ctrl+n"\n')
    assert problems == []
    assert keymap == {"quit": "ctrl+q", "open": "enter,o", "sort.name": "ctrl+n"}


def test_bad_entries_are_reported_and_left_out():
    keymap, problems = parse_keymap(
        'filter = "f"\nnope = "x"\nopen = 3\nhelp = "ctrl+nosuchkey"\napps = []\n', "keys.toml"
    )
    assert keymap == {"filter": "f"}
    assert len(problems) == 4
    assert "no binding has the id 'nope'" in problems[0]
    assert "open must be a key" in problems[1]
    assert "'ctrl+nosuchkey' is not a key name" in problems[2]
    assert "apps must be a key" in problems[3]


def test_broken_toml_keeps_the_defaults():
    keymap, problems = parse_keymap('quit = "q', "keys.toml")
    assert keymap == {} and "using the default keys" in problems[0]


def test_punctuation_keys_by_name_or_character():
    keymap, problems = parse_keymap('help = "question_mark"\nfilter = "ctrl+slash"\n')
    assert problems == [] and keymap["help"] == "question_mark"
    assert "table.up" in KNOWN_IDS


def test_session_keys_remap_like_any_other():
    keymap, problems = parse_keymap('[session]\nkey = "ctrl+b"\nnext = ["tab", "n"]\n1 = "f1"\n')
    assert problems == []
    assert keymap == {"session.key": "ctrl+b", "session.next": "tab,n", "session.1": "f1"}
