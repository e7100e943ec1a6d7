"""The dashboard's screens: one module per screen or dialog."""
