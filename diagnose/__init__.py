"""lora-diagnose: runs LoRA fine-tuning scripts, diagnoses their errors, teaches the fix."""

__version__ = "0.1.0"


def load_ipython_extension(shell) -> None:
    """``%load_ext diagnose``: diagnose a cell's error under its traceback (diagnose/notebook.py, imported now)."""
    from diagnose.notebook import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell) -> None:
    """``%unload_ext diagnose``: IPython as it was before ``%load_ext``."""
    from diagnose.notebook import unload_ipython_extension as unload

    unload(shell)
