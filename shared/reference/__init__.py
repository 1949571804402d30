"""Reference rules every service shares: the legal clock, the procedure catalogue, administrative units, offices.

Domain knowledge, not plumbing: pure functions and data (with the packaged files beside them), no I/O
beyond reading those files. The rest of ``shared`` is transport and storage.
"""
