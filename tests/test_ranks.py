"""Multi-process failures: the root-cause rank, every rank's role, under real launchers and from real logs."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import DIAGNOSE, ROOT, diagnose, env

DATA = ROOT / "tests" / "data" / "multi-rank"
SCENARIO = DATA / "scenario.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]


@functools.cache
def _kb():
    from diagnose.kb.loader import load_kb

    return load_kb(use_env=False)


def explain_json(path: Path) -> dict:
    """What `diagnose explain --json PATH` prints, computed in this process (the CLI is run by the slow tests)."""
    from diagnose.engine import explain_text

    return json.loads(explain_text(path.read_text(encoding="utf-8"), _kb()).to_json())


def explain_cli(*args: str) -> dict:
    done = diagnose("explain", "--json", "--no-quiz", *args)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def ranks_of(report: dict) -> dict:
    ranks = report["incident"]["ranks"]
    assert ranks is not None, "no rank analysis in the report"
    return ranks


def by_rank(ranks: dict) -> dict:
    return {f["rank"]: f for f in ranks["failures"] if f["kind"] != "child-failed"}


# ---------------------------------------------------------------- real logs (fast)


@pytest.mark.parametrize("name", ["torchrun-2.13-two-ranks.txt", "torchrun-2.13-tee.txt"])
def test_interleaved_torchrun_log_names_rank_1_and_its_family(name):
    report = explain_json(DATA / name)
    ranks = ranks_of(report)
    assert ranks["root_rank"] == 1
    assert report["diagnoses"][0]["id"] == "peft-target-modules-not-found"
    assert report["incident"]["exception"]["type"] == "ValueError"  # the root's error, not ChildFailedError
    failures = by_rank(ranks)
    assert failures[1]["role"] == "root"
    assert (failures[0]["role"], failures[0]["kind"]) == ("consequence", "connection-lost")
    launcher = [f for f in ranks["failures"] if f["kind"] == "child-failed"]
    assert len(launcher) == 1 and launcher[0]["role"] == "consequence"
    assert report["diagnoses"][0]["findings"][0]["title"] == "Root cause: rank 1"


def test_deepspeed_launcher_log_names_rank_1():
    report = explain_json(DATA / "deepspeed-0.19.8-two-ranks.txt")
    ranks = ranks_of(report)
    assert ranks["root_rank"] == 1 and report["diagnoses"][0]["id"] == "peft-target-modules-not-found"
    failures = by_rank(ranks)
    assert set(failures) == {0, 1}  # deepspeed's "--local_rank=1 ... exits with return code = 1" is rank 1
    assert failures[1]["exit_code"] == 1 and failures[0]["kind"] == "connection-lost"


def test_agent_sigterm_after_a_sigkill_names_the_killed_rank():
    """accelerate launch, 8 GPUs: local rank 4 died with exitcode -9; the agent SIGTERMed the other seven."""
    ranks = ranks_of(explain_json(DATA / "03.txt"))
    root = ranks["failures"][0]
    assert (root["role"], root["local_rank"], root["signal"]) == ("root", 4, "SIGKILL")
    rest = ranks["failures"][1:]
    assert len(rest) == 7 and {(f["role"], f["kind"]) for f in rest} == {("consequence", "agent-sigterm")}


def test_torchelastic_root_cause_table_without_traceback():
    ranks = ranks_of(explain_json(DATA / "02.txt"))
    assert ranks["root_rank"] == 0
    assert by_rank(ranks)[0]["exit_code"] == 1
    assert "its traceback is not in this output" in ranks["summary"]


@pytest.mark.parametrize(("name", "seen"), [("04.txt", {6, 7}), ("06.txt", {0, 3, 4})])
def test_nccl_watchdog_lines_alone_are_consequences_with_no_root(name, seen):
    report = explain_json(DATA / name)
    ranks = ranks_of(report)
    assert ranks["root_rank"] is None
    assert set(by_rank(ranks)) == seen
    assert {(f["role"], f["kind"]) for f in ranks["failures"]} == {("consequence", "nccl-watchdog")}
    assert report["diagnoses"] == []  # a timeout is not a diagnosis of the root cause


def test_connection_reset_points_at_the_crashed_rank():
    ranks = ranks_of(explain_json(DATA / "01.txt"))
    assert ranks["root_rank"] is None
    assert ranks["failures"][0]["kind"] == "connection-lost"
    assert "point at rank 0" in ranks["summary"]


def test_srun_task_lines():
    oom = ranks_of(explain_json(DATA / "slurm-02.txt"))
    assert (oom["root_rank"], oom["root_host"], oom["failures"][0]["signal"]) == (0, "gpu20-15", "SIGKILL")
    nccl = ranks_of(explain_json(DATA / "slurm-01.txt"))
    root = nccl["failures"][0]
    assert root["role"] == "root" and "NCCL error" in root["error"]
    tasks = by_rank(nccl)
    assert sorted(r for r in tasks if r is not None) == list(range(2, 16))  # "tasks 2-7", "8-13,15", "task 14"
    assert tasks[14]["host"] == "slurm-job-compute-0-1"


def test_a_single_prefixed_traceback_is_no_multi_rank_case():
    text = (DATA / "torchrun-2.13-two-ranks.txt").read_text()
    rank1 = "\n".join(line for line in text.splitlines() if line.startswith("[rank1]:"))
    from diagnose.engine import incident_from_text

    incident = incident_from_text(rank1, [])
    assert incident.ranks is None and incident.exception.type == "ValueError"


def test_consequences_are_recognised_only_for_distributed_errors():
    from diagnose.incident import ExceptionInfo
    from diagnose.ranks import consequence_kind

    def kind(qualname: str, message: str) -> str | None:
        return consequence_kind(ExceptionInfo(qualname.rsplit(".", 1)[-1], qualname, message), None)

    assert kind("RuntimeError", "[gloo/transport/tcp/pair.cc:534] Connection closed by peer [10.0.0.2]:1") == (
        "connection-lost"
    )
    assert kind("torch.distributed.DistBackendError", "wait timeout after 30000ms") == "collective-timeout"
    assert kind("RuntimeError", "NCCL communicator was aborted on rank 2") == "process-group-shut-down"
    assert kind("torch.distributed.elastic.multiprocessing.errors.ChildFailedError", "x FAILED") == "child-failed"
    assert kind("TimeoutError", "the dataset server timed out") is None  # a user's own timeout
    assert kind("ConnectionResetError", "Connection reset by peer") is None  # the hub, not a peer rank
    assert consequence_kind(None, "SIGTERM") == "agent-sigterm"
    assert consequence_kind(None, "SIGKILL") is None


# ---------------------------------------------------------------- a real 4-rank run's output and captures (fast)

FOUR = DATA / "torchrun-4-ranks"  # diagnose run torchrun --nproc_per_node=4 scenario.py lora-error, with a shared dir


def _four_rank_run():
    from diagnose.runner import RunResult, read_captures

    output = (FOUR / "output.txt").read_bytes()
    return RunResult(["torchrun"], exit_code=1, signal=None, tail=output, captures=read_captures(str(FOUR)))


def test_run_path_merges_captures_with_the_launcher_table():
    """Rank 1's capture (its live model) and the launcher's; ranks 0, 2, 3 known only from torchelastic's table."""
    from diagnose.engine import diagnose_incident, incident_from_run

    incident = incident_from_run(_four_rank_run())
    analysis = incident.ranks
    assert analysis.root.rank == 1 and analysis.world_size == 4 and analysis.hosts() == ["vm"]
    assert incident.exception.type == "NoMatchingPeftModuleError" and incident.probes  # the root's capture
    roles = {f.rank: (f.role, f.kind) for f in analysis.failures}
    assert roles == {
        1: ("root", None),
        0: ("consequence", "agent-sigterm"),
        2: ("consequence", "agent-sigterm"),
        3: ("consequence", "agent-sigterm"),
        None: ("consequence", "child-failed"),
    }
    report = diagnose_incident(incident, _kb())
    assert report.diagnoses[0].id == "peft-target-modules-not-found"
    finding = report.diagnoses[0].findings[0]
    assert finding.title == "Root cause: rank 1 of 4"
    assert [row[0] for row in finding.rows] == ["1", "0", "2", "3", "launcher"]
    # the rank's own output goes with it, not the other ranks' (none printed a traceback here)
    assert "[rank1]:" not in incident.text and "Target modules" in incident.text


def test_captures_from_two_hosts_are_ordered_within_the_stated_clock_skew(tmp_path):
    """The real captures with the launcher's moved to another host: `explain --captures` states the tolerance."""
    captures = [json.loads(p.read_text()) for p in FOUR.glob("capture-*.json")]
    root = next(c for c in captures if c["rank"] == 1)
    moved = next(c for c in captures if c["rank"] != 1)
    moved.update(host="node-b", time=root["time"] - 1.5, monotonic=5.0)  # node-b's clock runs 1.5 s behind
    for capture in captures:
        (tmp_path / f"capture-{capture['host']}-{capture['pid']}.json").write_text(json.dumps(capture))
    ranks = ranks_of(explain_cli("--captures", str(tmp_path)))
    assert ranks["root_rank"] == 1  # a consequence never becomes the root, whatever its clock says
    assert ranks["clock_skew_tolerance_s"] == 2.0 and ranks["hosts"] == ["node-b", "vm"]
    done = diagnose("explain", "--no-quiz", "--captures", str(tmp_path), "--clock-skew", "0.5")
    text = done.stderr.decode()
    assert "clock-skew tolerance of ±0.5 s" in text and "Root cause: rank 1 of 4" in text


def test_own_errors_on_two_hosts_within_the_tolerance_are_called_uncertain():
    from diagnose.incident import ExceptionInfo
    from diagnose.ranks import RankFailure, analyse

    def failure(rank: int, host: str, when: float, message: str) -> RankFailure:
        return RankFailure(
            rank=rank, host=host, time=when, monotonic=when, source="capture",
            exception=ExceptionInfo("ValueError", "ValueError", message),
        )  # fmt: skip

    close = analyse([failure(0, "a", 100.0, "bad batch"), failure(1, "b", 101.0, "bad config")], 2.0)
    assert close.root.rank == 0 and close.failures[1].role == "independent"
    assert close.notes and "uncertain" in close.notes[0] and "±2 s" in close.notes[0]
    assert "wall clock" in close.ordered_by  # two hosts: monotonic clocks are not comparable
    apart = analyse([failure(0, "a", 100.0, "bad batch"), failure(1, "b", 90.0, "bad config")], 2.0)
    assert apart.root.rank == 1 and not apart.notes


def test_bad_capture_folder_is_one_line_and_exit_2(tmp_path):
    done = diagnose("explain", "--captures", str(tmp_path))
    assert done.returncode == 2 and done.stderr.decode().count("\n") == 1 and "no capture files" in done.stderr.decode()
    done = diagnose("explain", "--captures", str(tmp_path / "missing"))
    assert done.returncode == 2 and "Traceback" not in done.stderr.decode()


def test_a_shared_capture_dir_keeps_one_run_folder_per_failed_run(tmp_path):
    """DIAGNOSE_CAPTURE_DIR of the user's (a shared filesystem): a private run-… folder in it, kept after a failure."""
    failing, passing = tmp_path / "fail.py", tmp_path / "pass.py"
    failing.write_text("raise ValueError('boom')\n")
    passing.write_text("print('fine')\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    extra = {"DIAGNOSE_CAPTURE_DIR": str(shared)}
    for script in (passing, failing):
        subprocess.run([*DIAGNOSE, "run", "--no-quiz", str(script)], capture_output=True, timeout=120, env=env(**extra))
    (run_folder,) = shared.iterdir()  # the passing run left nothing behind
    assert run_folder.name.startswith("run-") and run_folder.stat().st_mode & 0o777 == 0o700
    (capture,) = [json.loads(p.read_text()) for p in run_folder.glob("capture-*.json")]
    assert capture["exception"]["message"] == "boom" and capture["host"] and capture["monotonic"] > 0
    missing = subprocess.run(
        [*DIAGNOSE, "run", "--no-quiz", str(passing)],
        capture_output=True,
        timeout=120,
        env=env(DIAGNOSE_CAPTURE_DIR=str(tmp_path / "nowhere")),
    )
    assert missing.returncode == 2 and b"is not a folder" in missing.stderr


# ---------------------------------------------------------------- real launchers (slow)


def _launch(command: list[str], *, wrapped: bool, extra_env: dict[str, str] | None = None, timeout: float = 300):
    argv = [*DIAGNOSE, "run", "--json", "--no-quiz", "--", *command] if wrapped else command
    return subprocess.run(argv, capture_output=True, timeout=timeout, env=env(**(extra_env or {})))


def _report(done: subprocess.CompletedProcess) -> dict:
    stdout = done.stdout.decode("utf-8", "replace")
    start = stdout.find('{\n  "schema"')
    assert start >= 0, f"no report:\n{stdout[-2000:]}\n{done.stderr.decode()[-4000:]}"
    return json.loads(stdout[start:])


@pytest.fixture(scope="module")
def four_ranks(tmp_path_factory):
    """torchrun, 4 ranks: rank 1 hits a real peft error; captures into a 'shared' DIAGNOSE_CAPTURE_DIR."""
    shared = tmp_path_factory.mktemp("shared-captures")
    done = _launch(
        [*TORCHRUN, "--nproc_per_node=4", str(SCENARIO), "lora-error"],
        wrapped=True,
        extra_env={"DIAGNOSE_CAPTURE_DIR": str(shared)},
    )
    return done, _report(done), shared


@pytest.mark.slow
def test_torchrun_4_ranks_root_is_rank_1_with_its_family(four_ranks, tmp_path):
    done, report, shared = four_ranks
    assert done.returncode == 1
    ranks = ranks_of(report)
    assert (ranks["root_rank"], ranks["world_size"], ranks["all_same"]) == (1, 4, False)
    assert report["diagnoses"][0]["id"] == "peft-target-modules-not-found"
    failures = by_rank(ranks)
    assert failures[1]["role"] == "root" and failures[1]["source"] == "capture"
    assert all(failures[r]["role"] == "consequence" for r in (0, 2, 3)), failures
    root = failures[1]
    assert root["host"] and root["local_rank"] == 1 and root["time"] and root["monotonic"]
    assert ranks["ordered_by"] == "monotonic clock (one host)"
    # the advisor read rank 1's live model: its GPT-2 layers, not only the message
    findings = json.dumps(report["diagnoses"][0]["findings"])
    assert "c_attn" in findings

    # the same run's output, saved as a log, gives the same root cause through explain
    log = tmp_path / "torchrun.log"
    log.write_bytes(done.stderr)
    again = explain_cli(str(log))
    assert ranks_of(again)["root_rank"] == 1
    assert again["diagnoses"][0]["id"] == "peft-target-modules-not-found"

    # the run folder kept in the shared capture dir: explain --captures merges it the same way
    (run_folder,) = [p for p in shared.iterdir() if p.is_dir()]
    done_captures = subprocess.run(
        [*DIAGNOSE, "explain", "--json", "--no-quiz", "--captures", str(shared)],
        capture_output=True,
        timeout=120,
        env=env(),
        stdin=subprocess.DEVNULL,
    )
    assert done_captures.returncode == 0, done_captures.stderr.decode()
    from_captures = json.loads(done_captures.stdout)
    assert ranks_of(from_captures)["root_rank"] == 1
    names = [json.loads(p.read_text()).get("rank") for p in run_folder.glob("capture-*.json")]
    assert 1 in names and None in names  # rank 1's and the launcher's (ChildFailedError); ranks SIGTERMed write none


@pytest.mark.slow
def test_torchrun_2_ranks(tmp_path):
    done = _launch([*TORCHRUN, "--nproc_per_node=2", str(SCENARIO), "lora-error"], wrapped=True)
    assert done.returncode == 1
    report = _report(done)
    ranks = ranks_of(report)
    assert (ranks["root_rank"], ranks["world_size"]) == (1, 2)
    assert by_rank(ranks)[0]["role"] == "consequence"
    assert report["diagnoses"][0]["id"] == "peft-target-modules-not-found"
    # the per-rank tracebacks the run printed, saved to a file: explain finds the same root
    log = tmp_path / "ranks.log"
    log.write_bytes(done.stderr)
    again = explain_cli(str(log))
    assert ranks_of(again)["root_rank"] == 1 and again["diagnoses"][0]["id"] == "peft-target-modules-not-found"


@pytest.mark.slow
def test_a_rank_killed_by_sigkill_is_the_root_and_the_launcher_behaves_as_bare():
    """The cheap scenario (no transformers) runs twice: bare and wrapped, for the passthrough comparison."""
    command = [*TORCHRUN, "--nproc_per_node=2", str(SCENARIO), "sigkill"]
    bare, wrapped = _launch(command, wrapped=False), _launch(command, wrapped=True)
    assert wrapped.returncode == bare.returncode == 1
    # the ranks' own output passes through unchanged (how the two ranks' writes interleave is the scheduler's)
    ours = wrapped.stdout.decode()
    ours = ours[: ours.find('{\n  "schema"')]
    assert sorted(ours) == sorted(bare.stdout.decode())
    assert sorted(re.findall(r"rank \d of 2: sigkill", ours)) == ["rank 0 of 2: sigkill", "rank 1 of 2: sigkill"]
    report = _report(wrapped)
    ranks = ranks_of(report)
    failures = by_rank(ranks)
    assert ranks["root_rank"] == 1 and failures[1]["signal"] == "SIGKILL"
    assert failures[0]["role"] == "consequence"
    assert report["diagnoses"][0]["id"] == "cpu-out-of-memory"  # torchelastic's "Signal 9 (SIGKILL) received"


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("accelerate") is None and not (Path(sys.executable).parent / "accelerate").exists(),
    reason="accelerate is not installed",
)
def test_accelerate_launch_every_rank_failing_the_same_way_is_one_diagnosis():
    accelerate = shutil.which("accelerate") or str(Path(sys.executable).parent / "accelerate")
    command = [
        accelerate,
        "launch",
        "--multi_gpu",  # accelerate's torchrun launcher; the script's gloo group needs no GPU
        "--num_processes=2",
        "--num_machines=1",
        "--mixed_precision=no",
        "--dynamo_backend=no",
        str(SCENARIO),
        "same-error",
    ]
    done = _launch(command, wrapped=True)
    assert done.returncode == 1
    report = _report(done)
    ranks = ranks_of(report)
    assert ranks["all_same"] is True and ranks["summary"].startswith("All 2 ranks failed with the same error")
    assert {f["role"] for f in by_rank(ranks).values()} == {"root"}
    assert len(report["diagnoses"]) >= 1 and report["diagnoses"][0]["id"] == "no-grad-fn"
    assert report["diagnoses"][0]["findings"][0]["title"] == "All 2 ranks failed the same way"


def _slurm_allocation_possible() -> bool:
    """A Slurm controller answers (salloc can get an allocation): real srun, not a stand-in."""
    if shutil.which("salloc") is None or shutil.which("sinfo") is None:
        return False
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%a"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and b"up" in done.stdout


@pytest.mark.slow
@pytest.mark.skipif(not _slurm_allocation_possible(), reason="no Slurm cluster here (salloc/sinfo)")
def test_srun_inside_an_allocation():
    """salloc -n2 diagnose run srun python scenario.py: the ranks come from SLURM_PROCID, the root is rank 1."""
    done = _launch(
        ["salloc", "-n2", *DIAGNOSE, "run", "--json", "--no-quiz", "srun", sys.executable, str(SCENARIO), "lora-error"],
        wrapped=False,
    )
    assert done.returncode == 1
    report = _report(done)
    ranks = ranks_of(report)
    assert (ranks["root_rank"], ranks["world_size"]) == (1, 2)
    assert by_rank(ranks)[0]["role"] == "consequence"
    assert report["diagnoses"][0]["id"] == "peft-target-modules-not-found"
    assert b"srun: error:" in done.stderr  # srun's own lines reach the terminal as without the wrapper


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("deepspeed") is None,
    reason="deepspeed is not installed (a source build; see tests/data/multi-rank/README.md for the recorded run)",
)
def test_deepspeed_launcher():
    done = _launch(
        [sys.executable, "-m", "deepspeed.launcher.runner", "--num_gpus", "2", str(SCENARIO), "lora-error"],
        wrapped=True,
    )
    assert done.returncode == 1
    ranks = ranks_of(_report(done))
    assert ranks["root_rank"] == 1 and by_rank(ranks)[0]["role"] == "consequence"
