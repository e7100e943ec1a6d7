"""SVG snapshots of every screen, drawn from the fixed sample data at a fixed time and size.

The scenes are those of `python -m tests.tui.screenshots`. After an intended change of look,
regenerate with `--snapshot-update` and look at the SVGs before committing them.
"""

from __future__ import annotations

import pytest

from tests.tui.screenshots import SCENES, SIZE, make_app


@pytest.mark.parametrize("scene", SCENES, ids=[scene.name for scene in SCENES])
def test_scene(scene, snap_compare):
    assert snap_compare(make_app(scene.readonly), run_before=scene.run, terminal_size=SIZE)
