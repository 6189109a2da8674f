"""Failures of the database itself, told apart from failures of what was asked of it."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc


class StoreUnavailable(Exception):
    """The database could not record something in time: down, locked, or overloaded. Nothing
    that depended on the record happened; the caller may try again after `retry_after`."""

    def __init__(self, reason: str, retry_after: float = 1.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def is_unavailable(error: BaseException) -> bool:
    """True when `error` says the database could not be reached or used right now (as opposed
    to refusing a statement: a constraint, a bug)."""
    if isinstance(error, StoreUnavailable | TimeoutError | OSError | sa_exc.TimeoutError):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        # PostgreSQL says why by SQLSTATE class: 08 connection exception, 57 operator
        # intervention ("the database system is shutting down" / "starting up"), 53
        # insufficient resources; such errors may arrive as a plain DBAPIError
        state = str(getattr(error.orig, "sqlstate", None) or "")
        if state[:2] in _UNAVAILABLE_STATES:
            return True
        # SQLite's "database is locked" / "disk I/O error" and connection failures arrive as
        # OperationalError or InterfaceError; IntegrityError and ProgrammingError are the
        # statement's fault
        if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        return is_unavailable(error.orig) if isinstance(error.orig, OSError) else False
    return False


_UNAVAILABLE_STATES = frozenset({"08", "57", "53"})
