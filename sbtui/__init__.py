"""sbtui: a terminal dashboard, a sandbox server and an async client core for sandboxes."""

__version__ = "0.1.0"

from sbtui.client import Client  # noqa: E402

__all__ = ["Client", "__version__"]
