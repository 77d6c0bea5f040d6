"""The view's fixed parts: the header, the line of map names, and the screen shown when loading fails."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.events import Key
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from bee.tui.model import TuiModel, run_costs


class Header(Widget):
    """Three lines: the program (or the programs' names), what is attached (or loading, or failed), the
    metrics address. With `--bpf-stats` (`model.run_stats` not None) a fourth, under the hooks: what each
    BPF program costs the kernel per run (`bee.tui.model.run_costs`)."""

    DEFAULT_CSS = "Header { height: 3; }"

    def __init__(self, model: TuiModel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model
        if model.run_stats is not None:
            self.styles.height = 4

    def render(self) -> Text:
        model = self.model
        width = max(self.size.width, 10)
        location = model.location
        if model.several:  # the names: the headings beside the table say the rest
            location = f"{len(model.groups)} programs: {location}"
        elif len(location) + 8 > width:  # keep the end of a long path: the file name matters most
            location = "…" + location[len(location) + 9 - width:]
        lines = [Text.assemble(("bee run ", "bold"), (location, "bold cyan"))]
        if model.state == "loading":
            lines.append(Text("loading and attaching…", style="italic"))
        elif model.state == "failed":
            lines.append(Text("failed to load or attach", style="bold red"))
        else:
            label = f"attached {len(model.programs)}: "
            hooks = ", ".join(f"{function} → {hook}" for function, _, hook in model.programs)
            if len(label) + len(hooks) > width:  # the hooks say more than the functions' names
                hooks = ", ".join(hook for _, _, hook in model.programs)
            lines.append(Text.assemble((label, "bold green"), hooks))
        if model.run_stats is not None:
            label = "bpf stats: "
            lines.append(Text.assemble((label, "bold"), run_costs(model.run_stats, model.several, width - len(label))))
        lines.append(Text.assemble("metrics ", (model.metrics_url, "underline")))
        for line in lines:
            line.no_wrap = True
            line.overflow = "ellipsis"
            line.truncate(width, overflow="ellipsis")
        return Text("\n").join(lines)


class MapPicker(Widget):
    """Where the view lists the maps, the current one (`current`, an index in `model.tables`) highlighted."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.current = 0

    def select(self, index: int) -> None:
        """Highlight table `index`."""
        self.current = index
        self.refresh()


class TabLine(MapPicker):
    """The map names of a run of one program, the current one highlighted; scrolled so the current one is
    always visible."""

    DEFAULT_CSS = "TabLine { height: 1; }"

    def __init__(self, names: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.names = names

    def render(self) -> Text:
        width = max(self.size.width, 1)
        labels = [f" {name} " for name in self.names]
        start = 0
        while start < self.current and sum(len(x) + 1 for x in labels[start:self.current + 1]) + 2 > width:
            start += 1
        text = Text("‹" if start else " ", no_wrap=True, overflow="ellipsis")
        for i in range(start, len(labels)):
            text.append(labels[i], style="reverse bold" if i == self.current else "")
            text.append(" ")
        if text.cell_len > width:
            text.truncate(width - 1)
            text.append("›")
        return text


class ErrorScreen(Screen[None]):
    """Shown when loading or attaching failed: the reason, the log's tail, then any key leaves (non-zero)."""

    DEFAULT_CSS = """
    #error-header { background: $boost; padding: 0 1; }
    #error-box { height: 1fr; border: heavy $error; background: $surface; padding: 0 1; }
    #error-message { height: auto; }
    #error-detail { height: 1fr; color: $text-muted; }
    """

    def __init__(self, model: TuiModel, message: Text, detail: str) -> None:
        super().__init__()
        self.model = model
        self.message = message
        self.detail = detail

    def compose(self) -> ComposeResult:
        yield Header(self.model, id="error-header")
        with Vertical(id="error-box"):
            yield Static(self.message, id="error-message")
            with VerticalScroll(id="error-detail"):
                yield Static(Text(self.detail))

    def on_mount(self) -> None:
        self.query_one("#error-detail", VerticalScroll).scroll_end(animate=False)  # the reason is at the end

    def on_key(self, event: Key) -> None:
        event.stop()
        self.app.exit(return_code=1)
