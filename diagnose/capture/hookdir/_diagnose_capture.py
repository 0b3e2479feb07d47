"""Write one capture file for an uncaught exception (runs inside the user's process).

Stdlib only.  Reads structure, never user data: module names and types,
parameter counts, devices and dtypes, tensor shapes, config fields of PEFT
configs, attribute names.  Bounded: probing stops at a deadline (1 s) and the
file is cut to fit 1 MB, dropping the least useful parts first.
"""

import json
import os
import re
import sys
import time

CAPTURE_VERSION = 1
TIME_BUDGET_S = 1.0
MAX_BYTES = 1_000_000
MAX_MESSAGE = 20_000
MAX_FRAMES = 120
MAX_CHAIN = 8

_TOKEN = re.compile(r"hf_[A-Za-z0-9]{8,}")


class _Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def passed(self):
        return time.monotonic() > self.end


def scrub(text):
    """Remove access tokens: hf_… strings and the values of token variables."""
    text = _TOKEN.sub("hf_***", text)
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN", "WANDB_API_KEY"):
        value = os.environ.get(var)
        if value and len(value) >= 6:
            text = text.replace(value, "***")
    return text


def _safe_str(value, limit=MAX_MESSAGE):
    try:
        text = str(value)
    except BaseException:  # noqa: BLE001 - a broken __str__ must not stop the capture
        text = "<unprintable>"
    return text[:limit]


def _qualname(cls):
    try:
        module = getattr(cls, "__module__", "") or ""
        name = getattr(cls, "__qualname__", None) or cls.__name__
        return name if module == "builtins" else module + "." + name
    except BaseException:  # noqa: BLE001
        return "<unknown>"


def _frames(tb):
    import traceback  # here, not at the top: the engine imports this module for scrub() alone

    frames = []
    try:
        for summary in traceback.extract_tb(tb):
            frames.append(
                {
                    "file": summary.filename,
                    "line": summary.lineno,
                    "function": summary.name,
                    "code": (summary.line or "")[:300],
                }
            )
    except BaseException:  # noqa: BLE001
        pass
    if len(frames) > MAX_FRAMES:
        frames = frames[:20] + frames[-(MAX_FRAMES - 20) :]
    return frames


def _exception_record(exc, relation):
    cls = type(exc)
    try:
        mro = [_qualname(k) for k in cls.__mro__ if k is not object]
    except BaseException:  # noqa: BLE001
        mro = [_qualname(cls)]
    return {
        "type": getattr(cls, "__name__", "?"),
        "qualname": _qualname(cls),
        "message": _safe_str(exc),
        "mro": mro,
        "frames": _frames(exc.__traceback__),
        "relation": relation,
    }


def _chain(exc):
    """Earlier exceptions first, then the final one; with how each led to the next."""
    records, seen, current, relation = [], set(), exc, None
    while current is not None and id(current) not in seen and len(records) < MAX_CHAIN:
        seen.add(id(current))
        records.append(_exception_record(current, relation))
        if current.__cause__ is not None:
            current, relation = current.__cause__, "cause"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, relation = current.__context__, "context"
        else:
            current = None
    records.reverse()  # each record's relation says how it led to the one after it
    return records


def _tb_frames(exc):
    """Live frames of the traceback, innermost first, across the chain."""
    frames, seen = [], set()
    current = exc
    for _ in range(MAX_CHAIN):
        if current is None:
            break
        tb = current.__traceback__
        chain_frames = []
        while tb is not None:
            chain_frames.append(tb.tb_frame)
            tb = tb.tb_next
        for frame in reversed(chain_frames):
            if id(frame) not in seen:
                seen.add(id(frame))
                frames.append(frame)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return frames


def capture_record(exc, thread_name=None, deadline=None):
    """Everything the capture file holds, as a JSON-ready dict."""
    started = time.monotonic()
    deadline = deadline or _Deadline(TIME_BUDGET_S)
    chain = _chain(exc)
    try:
        import traceback

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except BaseException:  # noqa: BLE001
        text = ""
    record = {
        "capture_version": CAPTURE_VERSION,
        "pid": os.getpid(),
        "time": time.time(),  # wall clock: compared across hosts, within a stated clock-skew tolerance
        "monotonic": time.monotonic(),  # one host's processes share this clock: their order, free of NTP steps
        "host": _host(),
        "argv0": os.path.basename(sys.argv[0]) if sys.argv else "",
        "script": os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] not in ("", "-c", "-m") else "",
        "thread": thread_name,
        # torchrun / accelerate / deepspeed set RANK...; srun alone sets SLURM_*; mpirun OMPI_* / PMI_*.
        "rank": _int_env("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK"),
        "local_rank": _int_env("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID"),
        "world_size": _int_env("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"),
        "exception": chain[-1],
        "chain": chain[:-1],
        "traceback_text": text[-200_000:],
        "probes": {},
    }
    try:
        # No warnings.catch_warnings() here: it would reset every module's warning registry, so warnings
        # already shown once would print again later. The probes run no library code that could warn.
        record["probes"] = _probe_all()(exc, _tb_frames(exc), deadline)
    except BaseException as error:  # noqa: BLE001 - a failed probe still leaves a useful capture
        record["probes"] = {"error": _safe_str(error, 300)}
    record["capture_seconds"] = round(time.monotonic() - started, 3)
    return record


def _probe_all():
    """The sibling probes module, imported from this file's folder (not on sys.path in the user's process)."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    try:
        from _diagnose_probes import probe_all  # noqa: PLC0415
    finally:
        try:
            sys.path.remove(here)
        except ValueError:
            pass
    return probe_all


def _int_env(*names):
    """The first of these variables that holds an integer."""
    for name in names:
        try:
            return int(os.environ[name])
        except (KeyError, ValueError):
            continue
    return None


def _host():
    try:
        return os.uname().nodename
    except (AttributeError, OSError):
        return ""


def _fit(record):
    """Serialise within MAX_BYTES, shedding the bulkiest optional parts first."""
    data = scrub(json.dumps(record, default=str))
    shedding = [
        ("probes", "attributes"),
        ("probes", "tensors"),
        ("probes", "callables"),
        ("traceback_text", None),
        ("probes", "models"),
        ("probes", None),
    ]
    for key, sub in shedding:
        if len(data.encode("utf-8", "replace")) <= MAX_BYTES:
            break
        if sub is None:
            record[key] = {} if key == "probes" else record[key][-20_000:]
        elif isinstance(record.get(key), dict):
            record[key].pop(sub, None)
        record["truncated"] = True
        data = scrub(json.dumps(record, default=str))
    return data


def write_capture(directory, exc, thread_name=None):
    record = capture_record(exc, thread_name)
    data = _fit(record)
    # the host in the name: pids repeat across the hosts that share one capture folder
    host = re.sub(r"[^A-Za-z0-9.-]", "_", record.get("host") or "")[:64] or "host"
    name = "capture-%s-%d-%d.json" % (host, os.getpid(), int(time.time() * 1000))
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data.encode("utf-8", "replace"))
    finally:
        os.close(fd)
    return path
