"""Tabular data: column typing, missing values and levels, and their encoders.

``schema`` decides each column's kind, levels and their order, and the errors, once, for
both families; ``features`` encodes a table for the GLMs (numpy design matrices) and
``preprocessing`` builds the Keras preprocessing layers of the deep nets (it imports Keras,
so it is not imported here).
"""

__all__: list[str] = []
