"""The real-time tests' server-process fixtures, for the conversations' two-process test."""

from tests.realtime.conftest import cluster_env, start_servers

__all__ = ["cluster_env", "start_servers"]
