"""Remote questionnaires (docs/remote.md): the practice's key pair, the request packet
(one self-contained HTML file), the sealed response and its import.

Nothing here is imported by `planwise --help`: `cryptography` is loaded only by the
functions that need it.
"""
