"""Everything that must survive a restart: one SQLite file and the records kept in it.

Owns the database and its numbered migrations (:mod:`.database`), the feedback outbox
(:mod:`.outbox`, with its claims and leases in :mod:`.claims`, receipts in :mod:`.receipts` and
the one-time import of the old JSONL file in :mod:`.legacy`), the response cache (:mod:`.cache`),
resumable runs (:mod:`.runs`) and the scores of human review queues (:mod:`.reviews`).

May import: :mod:`orqmagic.errors`, :mod:`orqmagic.config` and :mod:`orqmagic.clients` (the
outbox sends through the shared orq client). Never results, evaluation, rendering, widgets or
magics: those stand on the store, not the other way round.
"""

from .database import Store, StoreError, default_path, default_store, home

__all__ = ["Store", "StoreError", "default_path", "default_store", "home"]
