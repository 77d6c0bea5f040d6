"""The textual application of `bee run`: a header, one table per tracked map, a filter line, a help line.

With several programs the maps are listed in a column beside the table, under a heading per program
(`bee.tui.sidebar`); Tab goes through the maps of every program that runs, and a table is called
`program › map`. With one program a line of map names sits over the table.

It runs on the main thread and never touches libbpf: a timer (`REFRESH` seconds) copies the
model's buffers and redraws the table on screen, so a slow terminal drops frames, not events.
`stop` (a threading.Event) set from anywhere (a signal handler, a test) makes it exit at the next tick.
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import ContentSwitcher, Input, Static

from bee.sinks.families import label_value
from bee.tui.driver import StdoutDriver
from bee.tui.filter import FilterError, TableFilter
from bee.tui.model import Table, TuiModel
from bee.tui.rows import Row, RowsView
from bee.tui.sidebar import ProgramColumn
from bee.tui.widgets import ErrorScreen, Header, MapPicker, TabLine

REFRESH = 0.2  # seconds between redraws (5 Hz)
HELP = "Tab/^N next  ^P prev  / filter  space pause  ↑↓←→ PgUp/PgDn scroll  q quit"
FILTER_HELP = "Enter apply  Esc cancel  field=regex, regex (any field), a && b; empty clears"


class BeeApp(App[int]):
    """The interactive view of one run over `model`; exits when `stop` is set or the user quits."""

    TITLE = "bee run"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #header { background: $boost; padding: 0 1; }
    #tabs { background: $boost; }
    #tables { height: 1fr; }
    #body { height: 1fr; }
    #body #tables { width: 1fr; }
    #status { height: 1; background: $panel; padding: 0 1; }
    #message { height: auto; max-height: 2; padding: 0 1; color: $warning; display: none; }
    #filter { height: 1; display: none; }
    #filter-label { width: auto; padding: 0 1; background: $accent; color: $text; }
    #filter-input { border: none; height: 1; padding: 0 1; width: 1fr; }
    #help { height: 1; padding: 0 1; color: $text-muted; }
    """
    # Nothing is focused but what on_mount and the keys focus: Textual's default would focus the (hidden) filter
    # field of a run with no tables, where it would take `q` as text and the view could not be left with it.
    AUTO_FOCUS: ClassVar[str | None] = None
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "quit", priority=True),
        Binding("ctrl+n", "switch(1)", "next table", priority=True),
        Binding("tab", "switch(1)", "next table", priority=True),
        Binding("ctrl+p", "switch(-1)", "previous table", priority=True),
        Binding("shift+tab", "switch(-1)", "previous table", priority=True),
        Binding("slash", "edit_filter", "filter"),
        Binding("space", "pause", "pause"),
        Binding("escape", "cancel_filter", "cancel", priority=True),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, model: TuiModel, stop: threading.Event) -> None:
        super().__init__(driver_class=StdoutDriver)
        self.model = model
        self.stop_event = stop
        self.current = 0
        self.paused: set[int] = set()
        self._drawn: dict[int, tuple[int, object]] = {}  # table index → (version, filter) on screen
        self._state = ""
        self._run_stats: object = model.run_stats  # the counts the header shows
        self._rates: list[float] = [0.0] * len(model.tables)
        self._failed_shown = False
        self._failures: list[str | None] = [group.failure for group in model.groups]
        self._message = ""
        self._message_until = 0.0

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        model = self.model
        yield Header(model, id="header")
        tables = ContentSwitcher(*(self._rows_view(i, table) for i, table in enumerate(model.tables)),
                                 id="tables", initial="table-0" if model.tables else None)
        if model.several:
            with Horizontal(id="body"):
                yield ProgramColumn(model, id="tabs")
                yield tables
        else:
            yield TabLine([t.name for t in model.tables], id="tabs")
            yield tables
        if not model.tables:
            which = "no program has" if model.several else "this program has no"
            yield Static(f"{which} tracked maps (print_, counter_, gauge_, hist_, log2hist_, linhist_)", id="empty")
        yield Static(id="status")
        yield Static(id="message")
        with Horizontal(id="filter"):
            yield Static(id="filter-label")
            yield Input(id="filter-input", placeholder="field=regex, or a regex matched against any field")
        yield Static(HELP, id="help")

    def _rows_view(self, index: int, table: Table) -> RowsView:
        columns = self._columns(table)
        if table.kind == "ring":
            def ring_row(row: Row) -> tuple[str, ...]:
                record = row[2]
                return (_clock(row[1]), *(label_value(record.get(c, "")) for c in columns))

            return RowsView(("time", *columns), ring_row, stable=True, id=f"table-{index}")

        def hash_row(row: Row) -> tuple[str, ...]:
            return tuple(label_value(row[2].get(c, "")) for c in columns)

        return RowsView(columns, hash_row, stable=False, id=f"table-{index}")

    def on_mount(self) -> None:
        self._draw_header()
        if self.model.tables:
            self._table(0).focus()
        self.set_interval(REFRESH, self._tick)
        self._tick()

    # -- timer ---------------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.stop_event.is_set():
            self.exit(return_code=0)
            return
        model = self.model
        if model.state != self._state or model.run_stats is not self._run_stats:
            self._state, self._run_stats = model.state, model.run_stats
            self._draw_header()
        if model.state == "failed" and not self._failed_shown:
            self._failed_shown = True
            self.push_screen(ErrorScreen(self.model, *self._error_text()))
            return
        self._follow_failures()
        if model.tables:
            self._rates = [table.rate() for table in model.tables]  # sampled every tick, shown for one
            self._draw_table(self.current)
            self._draw_status()
        self._draw_message()

    def _follow_failures(self) -> None:
        """Show the programs that did not start since the last tick; leave a table of theirs for the next one."""
        failures = [group.failure for group in self.model.groups]
        if failures == self._failures:
            return
        self._failures = failures
        self.query_one("#tabs", MapPicker).refresh(layout=True)
        visible = self.model.visible()
        if visible and self.current not in visible:
            self._close_filter()  # it was editing the filter of a table that is gone
            self._show(visible[0])

    def _columns(self, table: Table) -> tuple[str, ...]:
        return table.columns or ("value",)

    def _table(self, index: int) -> RowsView:
        return self.query_one(f"#table-{index}", RowsView)

    def _draw_table(self, index: int, force: bool = False) -> None:
        if index in self.paused and not force:
            return
        table = self.model.tables[index]
        mark = (table.version, table.filter)
        if not force and self._drawn.get(index) == mark:
            return
        snapshot = table.snapshot()
        self._drawn[index] = (snapshot.version, table.filter)
        self._table(index).set_rows(snapshot.rows)

    # -- header, status, messages ---------------------------------------------------------------

    def _draw_header(self) -> None:
        self.query_one(Header).refresh()

    def _draw_status(self) -> None:
        """`<map>  [PAUSED]  [filter <text>]  <shown> shown  <count> events  <rate>/s  <kind>·<output>`,
        most telling first: the end is what an 80-column terminal cuts."""
        table = self.model.tables[self.current]
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.model.title(self.current) + "  ", style="bold")
        if self.current in self.paused:
            text.append("PAUSED", style="reverse bold")
            text.append("  ")
        if table.filter is not None:
            text.append("filter ", style="bold")
            text.append(table.filter.text + "  ", style="yellow")
        text.append(f"{self._table(self.current).row_count} shown  ")
        if table.kind == "ring":
            rate = self._rates[self.current]
            text.append(f"{_plural(table.count(), 'event')}  {rate:.0f}/s  " if rate >= 10 else
                        f"{_plural(table.count(), 'event')}  {rate:.1f}/s  ")
        else:
            text.append(f"{_plural(table.count(), 'entry', 'entries')}  ")
        text.append(f"{table.kind}·{table.output}", style="dim")
        self.query_one("#status", Static).update(text)

    def _draw_message(self) -> None:
        if self.model.notices:
            while self.model.notices:
                self._show_message(self.model.notices.popleft(), 8.0)
        widget = self.query_one("#message", Static)
        visible = bool(self._message) and time.monotonic() < self._message_until
        if widget.display != visible:
            widget.display = visible
        if visible:
            widget.update(Text(self._message, no_wrap=False))

    def _show_message(self, text: str, seconds: float = 6.0) -> None:
        self._message = text
        self._message_until = time.monotonic() + seconds
        widget = self.query_one("#message", Static)
        widget.update(Text(text))
        widget.display = True

    def _error_text(self) -> tuple[Text, str]:
        error = self.model.error
        message = getattr(error, "message", None) or f"internal error: {type(error).__name__}: {error}"
        text = Text()
        text.append("Error: ", style="bold red")
        text.append(message + "\n")
        text.append("Press any key to exit.", style="bold")
        detail = getattr(error, "detail", None) or ""
        return text, detail.rstrip()

    # -- actions -------------------------------------------------------------------------------

    def _leave_if_failed(self) -> bool:
        if self.model.state == "failed":
            self.exit(return_code=1)
            return True
        return False

    def action_switch(self, step: int) -> None:
        """Show the next (`step` 1) or previous (-1) table of the programs that run."""
        visible = self.model.visible()
        if self._leave_if_failed() or not visible:
            return
        self._close_filter()
        here = visible.index(self.current) if self.current in visible else -step
        self._show(visible[(here + step) % len(visible)])

    def _show(self, index: int) -> None:
        """Make table `index` the current one."""
        self.current = index
        self.query_one(ContentSwitcher).current = f"table-{index}"
        self.query_one("#tabs", MapPicker).select(index)
        self._draw_table(index, force=True)
        self._draw_status()
        self.screen.set_focus(self._table(index))

    def action_edit_filter(self) -> None:
        if self._leave_if_failed() or not self.model.tables:
            return
        table = self.model.tables[self.current]
        box = self.query_one("#filter")
        field = self.query_one("#filter-input", Input)
        self.query_one("#filter-label", Static).update(f"filter {self.model.title(self.current)} /")
        field.value = table.filter.text if table.filter is not None else ""
        box.display = True
        self.query_one("#help", Static).update(FILTER_HELP)
        self.screen.set_focus(field)  # now, not deferred: keys typed right after `/` go to the field

    def action_cancel_filter(self) -> None:
        if self._leave_if_failed():
            return
        self._close_filter()

    def action_pause(self) -> None:
        if self._leave_if_failed() or not self.model.tables:
            return
        self.paused ^= {self.current}
        self._draw_table(self.current, force=True)
        self._draw_status()

    async def action_quit(self) -> None:
        self.exit(return_code=1 if self.model.state == "failed" else 0)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        table = self.model.tables[self.current]
        try:
            flt = TableFilter.parse(event.value, self._columns(table))
        except FilterError as exc:
            self._show_message(f"filter not applied: {exc}")
            return
        table.set_filter(flt)
        self._close_filter()
        self._draw_table(self.current, force=True)
        self._draw_status()

    def _close_filter(self) -> None:
        box = self.query_one("#filter")
        if box.display:
            box.display = False
            self._message_until = 0.0  # a filter error is about the closed editor
            self._draw_message()
            self.query_one("#help", Static).update(HELP)
            if self.model.tables:
                self.screen.set_focus(self._table(self.current))


def _plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else words or word + 's'}"


def _clock(ts: float) -> str:
    """Local time of day with milliseconds, `14:03:07.251`."""
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"
