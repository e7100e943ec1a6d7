"""The Textual dashboard over sbtui.client: `sbtui` with no verb starts it (see app.py)."""
