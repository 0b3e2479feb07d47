"""One error hierarchy; cli.main turns it into one line on stderr and an exit code."""


class DiagnoseError(Exception):
    """An expected failure the user can act on. ``str(error)`` is the one line shown."""

    exit_code = 1


class UsageError(DiagnoseError):
    """Bad command line or unreadable input: exit 2, never a traceback."""

    exit_code = 2


class KBError(DiagnoseError):
    """A knowledge-base file is broken; the message is ``file:line: problem``."""

    exit_code = 1
