"""One family of errors for bad input, and how a tool shows them.

The library raises :class:`UserError` (or a subclass) for input a user can
fix: a wrong path, a crafted or foreign file, an argument out of range. Its
message is one line naming the argument or file, the bad value and what is
allowed. Library code never exits the process; a tool wraps its ``main`` in
:func:`one_line_errors`, which turns these errors (and only these) into
``SystemExit('error: ...')``: rc 1, no traceback.
"""
import functools


class UserError(ValueError):
    """Bad input a user can fix; the message says how, in one line."""


def one_line_errors(main):
    """Decorate a tool's ``main``: a :class:`UserError` ends it with its
    message (``error: ...``, exit code 1) instead of a traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as e:
            raise SystemExit(f'error: {e}') from None
    return wrapper
