"""A trivial job for bench/reports.py: RQ's own cost per job, with nothing of ours in it."""


def noop() -> None:
    return None
