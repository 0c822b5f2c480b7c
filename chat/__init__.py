"""Real time: the wire protocol, connections, the broker between processes, and a client."""
