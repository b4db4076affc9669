"""Running a deployment over many inputs and reading what came back.

Owns the worker-thread event loop that every batch shares (:mod:`.worker`), the row sender
(:mod:`.rows`), batch runs and their summaries (:mod:`.batch`), side-by-side comparisons and
their variants (:mod:`.comparison`, :mod:`.variants`), progress (:mod:`.progress`),
``{{name}}`` templates (:mod:`.templates`) and the statistics of it all (:mod:`.stats`). Judges: metric
definitions (:mod:`.metric`), judge prompts (:mod:`.prompts`) and their strict reading (:mod:`.verdicts`),
scoring a run (:mod:`.judging`, feedback in :mod:`.judged_feedback`), A against B in both orders
(:mod:`.pairwise`) with its statistics (:mod:`.pairstats`, :mod:`.pair_summary`), and the dataset and
single-prompt forms (:mod:`.dataset_judge`, :mod:`.judge_comparison`). Human
review queues without their widget (:mod:`.review`, on the scales of :mod:`.scales`).

May import: errors, config, :mod:`orqmagic.clients`, :mod:`orqmagic.store`,
:mod:`orqmagic.render` (live views and tables) and :mod:`orqmagic.result`. Never
:mod:`orqmagic.frames`, :mod:`orqmagic.widgets` or :mod:`orqmagic.magics`.
"""
