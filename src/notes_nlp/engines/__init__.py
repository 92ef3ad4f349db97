"""Engines that score a batch's chunks somewhere other than this machine's processes.

Each engine is a :data:`notes_nlp.chunks.Engine`: it maps the batch's chunk scoring
over the chunks of :func:`notes_nlp.batch.chunks` and yields their lines in chunk
order, so :func:`notes_nlp.batch.run` writes the same bytes whatever scored them.
An engine's module imports its cluster library itself: import it only when used,
so the default path never needs it.
"""
