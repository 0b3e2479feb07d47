"""lora-diagnose capture hook, loaded first in every Python process of a run.

The runner puts this folder first on PYTHONPATH and names a capture folder in
DIAGNOSE_CAPTURE_DIR.  On an uncaught exception the hook writes one JSON
capture file (exception chain, frames, probes of live objects), then the
original excepthook prints the traceback as usual.

It runs inside other people's programs, so it is stdlib-only, imports nothing
heavy (torch is looked up in sys.modules, never imported), never raises, and
never changes output or exit status.  Any sitecustomize the user already had
is chained: it still runs, after this one is installed.
"""

import os
import sys

_HOOK_DIR = os.path.dirname(os.path.abspath(__file__))
_CAPTURE_DIR = os.environ.get("DIAGNOSE_CAPTURE_DIR")


def _hide_hook_dir_from_sys_path():
    # The user's program should see the sys.path it would see alone.
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HOOK_DIR]
    except Exception:  # noqa: BLE001 - the hook must never break start-up
        pass


def _chain_user_sitecustomize():
    """Run the sitecustomize this one shadows, as Python would have."""
    try:
        import importlib.machinery
        import importlib.util

        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
        if spec is None or spec.origin is None or os.path.dirname(os.path.abspath(spec.origin)) == _HOOK_DIR:
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules["_diagnose_user_sitecustomize"] = module
        spec.loader.exec_module(module)
    except Exception:  # the user's own sitecustomize failing is reported like Python does
        import traceback

        sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n")
        traceback.print_exc()


def _capture(exc_type, exc_value, exc_tb, thread_name=None):
    if not _CAPTURE_DIR or exc_value is None or isinstance(exc_value, (KeyboardInterrupt, SystemExit)):
        return
    if getattr(exc_value, "_diagnose_captured", False):
        return
    try:
        try:
            exc_value._diagnose_captured = True
        except Exception:  # noqa: BLE001 - some exceptions refuse attributes; capture anyway
            pass
        sys.path.insert(0, _HOOK_DIR)
        try:
            import _diagnose_capture as writer  # noqa: PLC0415 - loaded only on failure
        finally:
            try:
                sys.path.remove(_HOOK_DIR)
            except ValueError:
                pass
        writer.write_capture(_CAPTURE_DIR, exc_value, thread_name)
    except BaseException:  # noqa: BLE001 - never let the hook change the program's fate
        pass


def _install():
    original_excepthook = sys.excepthook

    def excepthook(exc_type, exc_value, exc_tb):
        _capture(exc_type, exc_value, exc_tb)
        original_excepthook(exc_type, exc_value, exc_tb)

    sys.excepthook = excepthook

    import threading

    original_thread_hook = threading.excepthook

    def thread_excepthook(args):
        _capture(args.exc_type, args.exc_value, args.exc_traceback, getattr(args.thread, "name", None))
        original_thread_hook(args)

    threading.excepthook = thread_excepthook

    # If the program replaces sys.excepthook (rich.traceback.install() does),
    # the interpreter still leaves the uncaught exception in sys.last_exc /
    # sys.last_value before exiting: capture it from there.
    import atexit

    def at_exit():
        value = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
        if value is not None:
            _capture(type(value), value, value.__traceback__)

    atexit.register(at_exit)


if _CAPTURE_DIR:
    _hide_hook_dir_from_sys_path()
    try:
        _install()
    except Exception:  # noqa: BLE001
        pass
_chain_user_sitecustomize()
