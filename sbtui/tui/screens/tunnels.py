"""TunnelsScreen: how to reach the ports a sandbox declared, and a key to copy a URL."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from sbtui.client import FailedPreconditionError, SandboxTimeoutError, SbtuiError, Tunnel
from sbtui.tui.keymap import TUNNEL_KEYS, bindings

WAIT_SECONDS = 2  # how long a port may take to accept connections before we say so
_KINDS = {"encrypted": "TLS", "h2": "TLS (h2)", "unencrypted": "TCP + TLS"}


def _socket(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class TunnelsScreen(ModalScreen[None]):
    BINDINGS = bindings(TUNNEL_KEYS)
    HELP = (("Tunnels", TUNNEL_KEYS),)

    def __init__(self, sandbox_id: str) -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self.tunnels: list[Tunnel] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-wide"):
            yield Label(f"Tunnels of {self.sandbox_id}", id="dialog-title")
            yield Static(f"waiting up to {WAIT_SECONDS} s for the ports to accept connections…",
                         id="tunnels-status")
            table = DataTable(id="tunnels-table", cursor_type="row", zebra_stripes=False)
            table.add_columns("PORT", "KIND", "URL", "TLS SOCKET", "TCP SOCKET")
            yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).display = False  # until there are tunnels to show
        self.load()

    @work(exclusive=True, group="tunnels")
    async def load(self) -> None:
        status = self.query_one("#tunnels-status", Static)
        table = self.query_one(DataTable)
        try:
            sandbox = await self.app.sandbox(self.sandbox_id)
            found = await sandbox.tunnels(timeout=WAIT_SECONDS)
        except SandboxTimeoutError as err:
            status.update(Text(f"not ready yet: {err} (r to retry)"))
            return
        except FailedPreconditionError as err:
            status.update(Text(str(err)))
            return
        except SbtuiError as err:
            status.update(Text(f"could not get the tunnels: {err}"))
            return
        table.display = True
        self.tunnels = [found[port] for port in sorted(found)]
        table.clear()
        for t in self.tunnels:
            tcp = _socket(t.unencrypted_host, t.unencrypted_port) if t.unencrypted_port else "-"
            table.add_row(str(t.container_port), _KINDS.get(t.kind, t.kind), t.url,
                          _socket(*t.tls_socket()), tcp)
        status.update(f"{len(self.tunnels)} port(s) ready; c copies the URL of the selected one")
        table.focus()

    def action_copy_url(self) -> None:
        table = self.query_one(DataTable)
        if not self.tunnels:
            self.notify("no tunnel to copy", severity="warning")
            return
        url = self.tunnels[table.cursor_row].url
        self.app.copy_to_clipboard(url)
        self.notify(f"copied {url}")

    def action_retry(self) -> None:
        self.query_one("#tunnels-status", Static).update(
            f"waiting up to {WAIT_SECONDS} s for the ports to accept connections…")
        self.load()

    def action_close(self) -> None:
        self.dismiss()
