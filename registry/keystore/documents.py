"""The small JSON documents a keystore is made of: canonical encoding, and reading with checked fields.

Every read failure names the file and the field, as a :class:`CorruptFileError`.
Binary fields are lowercase hex: unlike base64 it has one spelling per value, so a changed
character always changes the bytes (or is refused).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from registry.keystore.errors import CorruptFileError


def encode_document(fields: Mapping[str, Any]) -> bytes:
    """Encode ``fields`` as compact JSON with sorted keys (one byte string per document)."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")


class Document:
    """A parsed JSON object read from one keystore file.

    Attributes:
        path: The file it was read from (named in every error).
    """

    def __init__(self, path: Path, fields: Mapping[str, Any]) -> None:
        self.path = path
        self._fields = fields

    @classmethod
    def read(cls, path: Path) -> Document:
        """Read and parse the JSON object in ``path``.

        Raises:
            CorruptFileError: If the file is missing, unreadable, or not a JSON object.
        """
        try:
            fields = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise CorruptFileError(path, "the file is missing") from None
        except (OSError, ValueError) as exc:
            raise CorruptFileError(path, f"not readable as JSON ({type(exc).__name__})") from None
        if not isinstance(fields, dict):
            raise CorruptFileError(path, "not a JSON object")
        return cls(path, fields)

    @property
    def fields(self) -> Mapping[str, Any]:
        """The raw parsed object."""
        return self._fields

    def require_format(self, name: str, version: int) -> None:
        """Check the document's ``format`` and ``version`` fields.

        Raises:
            CorruptFileError: If it is another kind of file, or a version this code does not read.
        """
        if self.text("format") != name:
            raise CorruptFileError(self.path, f"it is not a {name} file")
        found = self.integer("version")
        if found != version:
            raise CorruptFileError(
                self.path, f"{name} version {found} is not supported (this code reads version {version})"
            )

    def text(self, key: str) -> str:
        """The string field ``key``.

        Raises:
            CorruptFileError: If it is missing or not a string.
        """
        return self._typed(key, str, "a string")

    def integer(self, key: str) -> int:
        """The integer field ``key``.

        Raises:
            CorruptFileError: If it is missing or not an integer.
        """
        value = self._typed(key, int, "an integer")
        if isinstance(value, bool):
            raise CorruptFileError(self.path, f"field {key!r} is not an integer")
        return value

    def hex_bytes(self, key: str, length: int | None = None) -> bytes:
        """The lowercase-hex field ``key`` as bytes.

        Args:
            key: The field name.
            length: The exact byte length required, if any.

        Raises:
            CorruptFileError: If it is missing, not lowercase hex, or of the wrong length.
        """
        value = self.text(key)
        if value != value.lower():
            raise CorruptFileError(self.path, f"field {key!r} is not lowercase hex")
        try:
            data = bytes.fromhex(value)
        except ValueError:
            raise CorruptFileError(self.path, f"field {key!r} is not hex") from None
        if length is not None and len(data) != length:
            raise CorruptFileError(self.path, f"field {key!r} holds {len(data)} bytes, {length} expected")
        return data

    def child(self, key: str) -> Document:
        """The JSON object in field ``key``, as a document of the same file.

        Raises:
            CorruptFileError: If it is missing or not an object.
        """
        return Document(self.path, self._typed(key, dict, "an object"))

    def _typed(self, key: str, kind: type, description: str) -> Any:
        value = self._fields.get(key)
        if not isinstance(value, kind):
            problem = "is missing" if value is None else f"is not {description}"
            raise CorruptFileError(self.path, f"field {key!r} {problem}")
        return value
