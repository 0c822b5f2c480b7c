"""The web side: Starlette app, HTTP API, /ws endpoint, CLI and the static client."""
