"""Exceptions of the data-tier codec; each says what failed and what to do next."""


class CodecError(Exception):
    """Base class of every codec error."""


class WrongKeyError(CodecError):
    """The container was encrypted under a different key (fingerprint mismatch)."""


class ContainerError(CodecError):
    """The cipher container is truncated, corrupted or of an unknown format/version."""


class KeyFormatError(CodecError):
    """A serialized codec key cannot be parsed (bad JSON, version, field or length)."""


class ImageFormatError(CodecError):
    """The image has an unsupported shape, dtype or file format, or is empty."""
