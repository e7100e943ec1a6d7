"""The `sbtui` command: the dashboard, `sbtui server`, and the scriptable verbs.

One module per verb group (server, node, info, app, sandbox, exec, image, tunnel, secret, volume,
token); what they share is in args (values and parsers), output (what they print) and target
(the sandbox a verb acts on). command builds the parser and runs what was asked.
"""

from sbtui.cli.command import main

__all__ = ["main"]
