"""What the team service keeps: uploads, results, verdicts, decisions, jobs and the audit log, in a
SQL database (SQLAlchemy 2, Alembic migrations), and re-judging from what is stored.

A layer above the library (it imports techvet's scan, verdict and screening) and below the server:
nothing here speaks HTTP.
"""

from techvet.store.db import Store, upgrade

__all__ = ["Store", "upgrade"]
