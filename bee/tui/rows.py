"""`RowsView`: a table that draws only the rows on screen, so redrawing costs the same with 10 or 1000 rows.

textual's DataTable builds every row up front (hundreds of milliseconds for 1000 rows on a small
machine, at every redraw); this view keeps the snapshot's rows as they are and formats a row
only when it is drawn (cached by row id). The header line stays on top; columns widen to the
widest value seen (cut at `CELL_WIDTH`). Keys: ↑ ↓ PgUp PgDn Home End scroll, ← → pan (no animation:
the view redraws several times a second anyway).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

CELL_WIDTH = 48
GAP = "  "
PAN = 8  # columns per ← / →
Row = tuple[int, Any, Any]  # (row id, time or None, record): ids are descending when `stable`
Formatter = Callable[[Row], tuple[str, ...]]

_HEADER = Style(bold=True, underline=True)
_PLAIN = Style()


def fit(text: str) -> str:
    """`text` cut to `CELL_WIDTH` cells with an ellipsis."""
    if cell_len(text) <= CELL_WIDTH:
        return text
    return set_cell_size(text, CELL_WIDTH - 1) + "…"


class RowsView(ScrollView, can_focus=True):
    """Rows of one table, newest (or largest) first."""

    DEFAULT_CSS = "RowsView { height: 1fr; }"

    def __init__(self, columns: Sequence[str], formatter: Formatter, *, stable: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = tuple(columns)
        self.widths = [cell_len(c) for c in self.columns]
        self.formatter = formatter
        self.stable = stable  # row ids name the same row across updates (ring buffers)
        self.rows: Sequence[Row] = []
        self._cache: dict[int, tuple[str, ...]] = {}

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show `rows`; when scrolled down, keep the same rows in view (stable ids only)."""
        top = self.scroll_offset.y
        anchor = self.rows[top][0] if self.stable and 0 < top < len(self.rows) else None
        self.rows = rows
        if not self.stable or len(self._cache) > 4 * max(len(rows), 100):
            self._cache = {}
        if anchor is not None:  # ids descend: the anchor's new index is the count of newer rows
            top = bisect_left(rows, -anchor, key=lambda row: -row[0])
        top = min(top, max(len(rows) + 1 - self.scrollable_content_region.height, 0))
        for row in rows[top:top + max(self.size.height, 60)]:  # sizes the columns (hidden tables too)
            self._cells(row)
        self.virtual_size = Size(self._line_width(), len(rows) + 1)
        if top != self.scroll_offset.y:
            self.scroll_to(y=top, animate=False, immediate=True)
        self.refresh()

    def _cells(self, row: Row) -> tuple[str, ...]:
        cells = self._cache.get(row[0])
        if cells is None:
            cells = tuple(fit(text) for text in self.formatter(row))
            self._cache[row[0]] = cells
            widths = self.widths
            for i, text in enumerate(cells):
                if i < len(widths) and cell_len(text) > widths[i]:
                    widths[i] = cell_len(text)
        return cells

    def _line_width(self) -> int:
        return 1 + sum(self.widths) + len(GAP) * (len(self.widths) - 1)

    def action_scroll_up(self) -> None:
        self.scroll_relative(y=-1, animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_relative(y=1, animate=False)

    def action_scroll_left(self) -> None:
        self.scroll_relative(x=-PAN, animate=False)

    def action_scroll_right(self) -> None:
        self.scroll_relative(x=PAN, animate=False)

    def action_page_up(self) -> None:
        self.scroll_relative(y=-max(self.scrollable_content_region.height - 2, 1), animate=False)

    def action_page_down(self) -> None:
        self.scroll_relative(y=max(self.scrollable_content_region.height - 2, 1), animate=False)

    def action_scroll_home(self) -> None:
        self.scroll_to(x=0, y=0, animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            cells, style = self.columns, _HEADER
        else:
            index = scroll_y + y - 1
            if index >= len(self.rows):
                return Strip.blank(width)
            cells, style = self._cells(self.rows[index]), _PLAIN
        before = self._line_width()
        text = " " + GAP.join(set_cell_size(cell, w) for cell, w in zip(cells, self.widths, strict=False))
        if self._line_width() != before:  # a wider value: lines drawn before it need drawing again
            self.virtual_size = Size(self._line_width(), len(self.rows) + 1)
            self.refresh()
        strip = Strip([Segment(text, style)]).crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width)
