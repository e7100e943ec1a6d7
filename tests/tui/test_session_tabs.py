"""Which session tabs fit on the top line of a shell screen."""

from __future__ import annotations

from sbtui.tui.widgets.session_tabs import visible


def test_every_tab_when_they_fit():
    assert visible([10, 10, 10], 1, 32) == range(3)


def test_the_current_tab_and_its_neighbours_when_they_do_not():
    # 4 cells go to the markers of left-out tabs; then 10 + 1 + 10 + 1 + 10 fits in 32.
    assert visible([10] * 8, 5, 36) == range(4, 7)
    assert visible([10] * 8, 0, 36) == range(0, 3)
    assert visible([10] * 8, 7, 36) == range(5, 8)


def test_the_current_tab_alone_when_nothing_else_fits():
    assert visible([30, 30, 30], 2, 40) == range(2, 3)
