"""Errors that the commands report as one line (besides ValueError and OSError)."""


class MissingDependencyError(ImportError):
    """A library this feature needs cannot be loaded; the message says what to install."""
