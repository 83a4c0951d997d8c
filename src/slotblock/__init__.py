"""slotblock: a self-hosted server for the Calendars blocked-slots API."""

__version__ = "0.1.0"
