"""HTTP endpoints: thin functions that parse, call the domain and storage, and return JSON."""
