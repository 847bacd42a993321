"""The engine: applies commands in sequence against the core, journals them, recovers.

It is the imperative shell around ``augury.domain``: it owns the clock, the journal
store and the single thread of execution.
"""
