"""The one exception type that our commands turn into a one-line error message."""


class UserError(Exception):
    """Bad input or settings: reported as ``<command>: error: <message>`` with exit status 2."""
