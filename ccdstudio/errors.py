"""Errors that carry a message meant for the user.

The CLI prints them as one line and exits non-zero; the GUI shows them in a dialog. Anything else that
escapes is a bug.
"""


class CcdstudioError(Exception):
    """An error whose message is written for the user, not the developer."""


class FormatError(CcdstudioError):
    """A file that cannot be read: unknown format, corrupt, truncated or of an unusable shape."""


class Cancelled(CcdstudioError):
    """A job stopped because its cancel token was set."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
