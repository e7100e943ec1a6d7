"""TunnelsScreen: how to reach the ports a sandbox declared, a key to copy a URL and one to check
that each port can be reached through its tunnel right now."""

from __future__ import annotations

from rich.text import Text
from textual import getters, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from sbtui.client import FailedPreconditionError, SandboxTimeoutError, SbtuiError, Tunnel
from sbtui.client.reachability import TunnelReach, check_tunnels
from sbtui.tui.dashboard import Dashboard
from sbtui.tui.keymap import TUNNEL_KEYS, bindings

WAIT_SECONDS = 2  # how long a port may take to accept connections before we say so
CHECK_SECONDS = 3  # how long a socket may take to connect during a reachability check
_KINDS = {"encrypted": "TLS", "h2": "TLS (h2)", "unencrypted": "TCP + TLS"}
READY = "ready"  # what `SandboxTunnels` promises of every port it returns
CHECKING = "checking…"


def _socket(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def describe(result: TunnelReach) -> str:
    """One cell's worth: the ports with a TCP socket as well say how each socket answered,
    unless both answered the same."""
    tls, tcp = result.tls, result.tcp
    if tcp is None:
        return str(tls)
    if tls.ok and tcp.ok:
        return f"reachable in {tls.ms:.0f} ms (TLS), {tcp.ms:.0f} ms (TCP)"
    if str(tls) == str(tcp):
        return str(tls)
    return f"TLS: {tls} · TCP: {tcp}"


class TunnelsScreen(ModalScreen[None]):
    app = getters.app(Dashboard)
    BINDINGS = bindings(TUNNEL_KEYS)
    HELP_SECTIONS = (("Tunnels", TUNNEL_KEYS),)

    def __init__(self, sandbox_id: str) -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self.tunnels: list[Tunnel] = []
        self.checks: list[TunnelReach] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-widest"):
            yield Label(f"Tunnels of {self.sandbox_id}", id="dialog-title")
            yield Static(
                f"waiting up to {WAIT_SECONDS} s for the ports to accept connections…", id="tunnels-status"
            )
            table: DataTable[str | Text] = DataTable(
                id="tunnels-table", cursor_type="row", zebra_stripes=False
            )
            self._columns = table.add_columns("PORT", "KIND", "URL", "TLS SOCKET", "TCP SOCKET", "STATE")
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
        self.workers.cancel_group(self, "reachability")  # its rows are about to go
        table.display = True
        self.tunnels = [found[port] for port in sorted(found)]
        self.checks = []
        table.clear()
        for t in self.tunnels:
            tcp = _socket(t.unencrypted_host, t.unencrypted_port) if t.unencrypted_port else "-"
            table.add_row(
                str(t.container_port),
                _KINDS.get(t.kind, t.kind),
                t.url,
                _socket(*t.tls_socket()),
                tcp,
                READY,
                key=str(t.container_port),
            )
        status.update(
            f"{len(self.tunnels)} port(s) ready; {self._key('copy_url')} copies the URL "
            f"of the selected one, {self._key('check')} checks that they can be reached"
        )
        table.focus()

    def _key(self, action: str) -> str:
        """The key that does `action` now, after keys.toml."""
        for active in self.active_bindings.values():
            if active.binding.action == action:
                return self.app.get_key_display(active.binding)
        return action

    def action_copy_url(self) -> None:
        table = self.query_one(DataTable)
        if not self.tunnels:
            self.notify("no tunnel to copy", severity="warning")
            return
        url = self.tunnels[table.cursor_row].url
        self.app.copy_to_clipboard(url)
        self.notify(f"copied {url}")

    def action_check(self) -> None:
        if not self.tunnels:
            self.notify("no tunnel to check", severity="warning")
            return
        self.check()

    @work(exclusive=True, group="reachability")
    async def check(self) -> None:
        """Connect to every socket of every tunnel, all at once, off the UI's way."""
        status = self.query_one("#tunnels-status", Static)
        table = self.query_one(DataTable)
        tunnels = list(self.tunnels)
        for tunnel in tunnels:
            table.update_cell(str(tunnel.container_port), self._columns[-1], CHECKING)
        status.update(f"checking {len(tunnels)} port(s) (up to {CHECK_SECONDS} s)…")
        try:
            pem = await self.app.connected_client().ca_certificate()
        except SbtuiError as err:
            for tunnel in tunnels:
                table.update_cell(str(tunnel.container_port), self._columns[-1], READY)
            status.update(Text(f"could not get the server's CA to check TLS: {err}"))
            return
        self.show_checks(await check_tunnels(tunnels, pem, timeout=CHECK_SECONDS))

    def show_checks(self, results: list[TunnelReach]) -> None:
        """Put each tunnel's check in its STATE cell, and a count in the status line."""
        table = self.query_one(DataTable)
        colours = self.app.theme_variables
        for result in results:
            colour = colours.get("text-success" if result.ok else "text-error", "")
            table.update_cell(
                str(result.tunnel.container_port),
                self._columns[-1],
                Text(describe(result), style=colour),
                update_width=True,
            )
        self.checks = results
        reachable = sum(result.ok for result in results)
        self.query_one("#tunnels-status", Static).update(
            f"{reachable} of {len(results)} port(s) reachable through their tunnels; "
            f"{self._key('check')} checks again"
        )

    def action_retry(self) -> None:
        self.query_one("#tunnels-status", Static).update(
            f"waiting up to {WAIT_SECONDS} s for the ports to accept connections…"
        )
        self.load()

    def action_close(self) -> None:
        self.dismiss()
