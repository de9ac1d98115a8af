"""Tabular data: column typing, missing values and levels, and their encoders.

``features`` encodes a table for the GLMs (numpy design matrices); ``preprocessing`` builds
the Keras preprocessing layers of the deep nets (it imports Keras, so it is not imported
here).
"""

__all__: list[str] = []
