"""The Textual app of lora-diagnose: run a script, see the diagnosis, fix, learn.

The engine (``diagnose``) never imports this package; this package only calls
the engine's public functions and shows its objects.
"""
