"""Testing an integration against slotblock: the pytest plugin (`slotblock.testing.plugin`,
registered through the `pytest11` entry point) and the client of the admin API it uses."""

from slotblock.testing.client import AdminClient, Slotblock, SlotblockServer

__all__ = ["AdminClient", "Slotblock", "SlotblockServer"]
