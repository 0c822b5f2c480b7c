"""The glossary's wire shapes (GET/POST /api/glossary, DELETE /api/glossary/{id})."""

from __future__ import annotations

from typing import Annotated

import msgspec

from web.wire import Struct

Term = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Means = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class GlossaryIn(Struct):
    term: Term
    means: Means


class GlossaryOut(Struct):
    id: int
    term: str
    means: str


class Glossary(Struct):
    entries: list[GlossaryOut]
