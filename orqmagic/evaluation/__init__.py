"""Running a deployment over many inputs and reading what came back.

Owns the worker-thread event loop that every batch shares (:mod:`.worker`), the row sender
(:mod:`.rows`), batch runs and their summaries (:mod:`.batch`), side-by-side comparisons and
their variants (:mod:`.comparison`, :mod:`.variants`), progress (:mod:`.progress`),
``{{name}}`` templates (:mod:`.templates`), the statistics of it all (:mod:`.stats`), and human
review queues without their widget (:mod:`.review`, on the scales of :mod:`.scales`).

May import: errors, config, :mod:`orqmagic.clients`, :mod:`orqmagic.store`,
:mod:`orqmagic.render` (live views and tables) and :mod:`orqmagic.result`. Never
:mod:`orqmagic.frames`, :mod:`orqmagic.widgets` or :mod:`orqmagic.magics`.
"""
