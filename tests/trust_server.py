"""Run many failing scripts under the real capture hook, paying the torch/transformers/peft import once.

    python tests/trust_server.py OUT_DIR SCRIPT...

Started with the capture hook's folder on PYTHONPATH and DIAGNOSE_CAPTURE_DIR
set, exactly as ``diagnose run`` starts a child, so the hook's sitecustomize
installs its excepthook here.  The libraries are imported once; each script
then runs in a forked child (``runpy``, ``__main__``, its own argv and
sys.path[0]), its stdout and stderr going to ``OUT_DIR/<name>.log``.  An
uncaught exception goes to the installed ``sys.excepthook`` -- the hook
writes its capture file, then prints the traceback -- with the traceback
starting at the script's own frame, as in a fresh interpreter.  One line of
JSON per script on stdout: name, pid, exit code.
"""

from __future__ import annotations

import json
import os
import runpy
import sys


def run_one(script: str, log: str) -> int:
    """In the forked child: the script as ``python script.py`` would run it; never returns."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.argv = [script]
    sys.path[0] = os.path.dirname(script)
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException as error:  # noqa: BLE001 - the uncaught exception, handled as the interpreter would
        error = error.with_traceback(_from_script(error.__traceback__, script))  # the hook reads __traceback__
        sys.excepthook(type(error), error, error.__traceback__)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _from_script(tb, script):
    """The traceback from the script's own frame on (this runner's and runpy's frames dropped)."""
    start = tb
    while start is not None and start.tb_frame.f_code.co_filename != script:
        start = start.tb_next
    return start or tb


def main(argv: list[str]) -> int:
    out_dir, scripts = argv[0], [os.path.abspath(s) for s in argv[1:]]
    import peft  # noqa: F401 - imported once here, shared by every forked script
    import torch
    import transformers  # noqa: F401

    torch.set_num_threads(1)  # forked children must not inherit a busy thread pool
    for script in scripts:
        name = os.path.splitext(os.path.basename(script))[0]
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            run_one(script, os.path.join(out_dir, name + ".log"))
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"name": name, "pid": pid, "exit_code": os.waitstatus_to_exitcode(status)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
