"""RQ jobs that build reports and exports from a fixed ledger position."""
