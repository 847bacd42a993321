"""The pure trading core of Augury.

Nothing in this package performs I/O, reads a clock or draws randomness: time and
identifiers arrive as arguments, so the same commands always yield the same events.
"""
