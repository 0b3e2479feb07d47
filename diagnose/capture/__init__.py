"""The capture hook and the reading of the files it writes.

``hookdir/sitecustomize.py`` runs inside the user's processes (stdlib only);
``probes.py`` is imported by it lazily when an exception is being captured.
This package's ``__init__`` must therefore stay import-free.
"""
