"""`ProgramColumn`: the maps of a run of several programs, in a column beside the table.

Each program has a heading (its name) with its maps under it, the current one highlighted; a program
that did not start has a red heading saying so, with the reason under it (wrapped, `REASON_ROWS` rows at
most). The column is as wide as its names (the app's CSS bounds it) and scrolls so that the current
map is always in view.
"""

from __future__ import annotations

import textwrap
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Size

from bee.tui.model import ProgramTables, TuiModel
from bee.tui.widgets import MapPicker

INDENT = "  "
REASON_ROWS = 4
REASON_WIDTH = 30  # cells a failure's reason may widen the column to
FAILED = " failed"
NO_MAPS = "(no tracked maps)"


class ProgramColumn(MapPicker):
    """Headings and maps of every program of `model`; `select(index)` marks table `index` of `model.tables`."""

    DEFAULT_CSS = "ProgramColumn { width: auto; min-width: 12; max-width: 40%; height: 1fr; padding: 0 1; }"

    def __init__(self, model: TuiModel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """The widest heading or map name, or a failure's reason up to `REASON_WIDTH` cells (it wraps)."""
        widths = [cell_len(INDENT + NO_MAPS)]
        for group in self.model.groups:
            widths.append(cell_len(group.name + FAILED))
            if group.failure is not None:
                widths.append(min(cell_len(INDENT + group.failure), REASON_WIDTH))
            else:
                widths.extend(cell_len(INDENT + table.name) for table in group.tables)
        return max(widths)

    def render(self) -> Text:
        width, height = max(self.size.width, 1), max(self.size.height, 1)
        rows: list[Text] = []
        current_row = 0
        index = 0  # of the group's first table in model.tables
        for group in self.model.groups:
            if rows:
                rows.append(Text())
            rows.append(_heading(group))
            if group.failure is not None:
                rows.extend(Text(INDENT + line, style="red") for line in _wrap(group.failure, width - len(INDENT)))
            elif not group.tables:
                rows.append(Text(INDENT + NO_MAPS, style="dim"))
            else:
                for i, table in enumerate(group.tables, start=index):
                    if i == self.current:
                        current_row = len(rows)
                    rows.append(Text(INDENT + table.name, style="reverse bold" if i == self.current else ""))
            index += len(group.tables)
        start = min(max(current_row - height + 2, 0), max(len(rows) - height, 0))
        for row in rows:
            row.no_wrap = True
            row.truncate(width, overflow="ellipsis")
        return Text("\n").join(rows[start:start + height])


def _heading(group: ProgramTables) -> Text:
    if group.failure is not None:
        return Text(group.name + FAILED, style="bold red")
    return Text(group.name, style="bold")


def _wrap(reason: str, width: int) -> list[str]:
    """`reason` in rows of `width` cells at most, `REASON_ROWS` rows at most (the last cut with `…`)."""
    rows = textwrap.wrap(reason, max(width, 4), break_on_hyphens=False) or [""]
    if len(rows) > REASON_ROWS:
        rows = rows[:REASON_ROWS]
        rows[-1] = rows[-1][:max(width - 1, 1)] + "…"
    return rows
