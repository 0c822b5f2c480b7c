"""An atheris (libFuzzer) harness for the frame parser; test_atheris.py runs it bounded.

.venv/bin/python tests/security/fuzz_protocol.py -runs=100000
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from chat import protocol
    from chat.protocol import ProtocolError


def one_input(data: bytes) -> None:
    # /ws hands the parser text (the WebSocket layer has checked the UTF-8 already).
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    try:
        protocol.parse(text)
    except RecursionError:
        # Known bug, reported (tests/security/test_frame_parser.py::test_deep_nesting).
        return
    except ProtocolError as exc:
        if exc.code not in protocol.ERROR_CODES:
            raise AssertionError(f"unknown error code {exc.code!r}") from None


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
