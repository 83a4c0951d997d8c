"""The pure core: recurrence, slot arithmetic, the domain records, times, token formats,
ETags, change-feed tokens, fault rules, the byte-bounded cache and the exception tree.

No I/O, no framework, no environment, no clock (`now` is passed in). An import contract
(`make lint`) holds the whole package, so a new module here is checked by default.
"""
