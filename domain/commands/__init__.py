"""The tenant's commands, grouped by the part of the governance chain they record."""
