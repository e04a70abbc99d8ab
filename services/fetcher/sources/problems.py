"""A problem of a sources file, with its place, and the errors that carry them."""

from __future__ import annotations

from dataclasses import dataclass

from newswire.fetcher.errors import SourcesFileError

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a sources file, where it is, in the operator's words.

    ``message`` names the field itself (``url "x" is not a valid http(s) URL (...)``);
    ``source`` is how the entry is called (``source "rudaw-en"``, or ``source #4`` when
    it has no usable id), None for a problem of the file as a whole.
    """

    line: int | None  # 1-based
    path: JsonPath
    message: str
    source: str | None = None
    place: str = ""  # "line 12: sources[3] (id=rudaw).url" - the library spelling

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message

    def render(self, filename: str) -> str:
        """``sources.yaml:12: source "rudaw-en": url "..." is not a valid http(s) URL (...)``."""
        where = f"{filename}:{self.line}" if self.line is not None else filename
        who = f"{self.source}: " if self.source else ""
        return f"{where}: {who}{self.message}"


class SourcesFileUnreadable(SourcesFileError):
    """The file cannot be read, is not UTF-8 text, or is not YAML: nothing to check."""

    def __init__(
        self, path: str, reason: str, line: int | None = None, column: int | None = None
    ) -> None:
        place = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(path, [f"{place}{reason}"])
        self.reason = reason
        self.line = line
        self.column = column

    def render(self) -> str:
        """``sources.yaml:3:11: invalid YAML: ...`` or ``sources.yaml: cannot read: ...``."""
        where = self.path
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.reason}"


class SourcesFileInvalid(SourcesFileError):
    """A readable file with problems; ``found`` has them with their places."""

    def __init__(self, path: str, found: list[Problem]) -> None:
        super().__init__(path, [str(p) for p in found])
        self.found = found
