"""What a torchrun log shows when the kernel's OOM killer ends a rank (signal stand-in).

When host RAM runs out gradually (each allocation granted, then the pages
touched), Linux does not fail an allocation: its OOM killer sends SIGKILL to
the biggest process.  There is no Python traceback; the launcher reports
``exitcode: -9`` / ``Signal 9 (SIGKILL) received by PID ...`` (a plain shell
reports exit status 137 and prints ``Killed``).

Really exhausting this machine's memory would endanger other processes, so
rank 1 sends itself the same SIGKILL the OOM killer would; everything printed
afterwards is torchrun's real report of a SIGKILLed rank.  Run directly, the
script relaunches itself with ``python -m torch.distributed.run``.
"""

import os
import signal
import sys

if "LOCAL_RANK" not in os.environ:  # not under torchrun yet: relaunch with 2 ranks
    os.execv(sys.executable, [sys.executable, "-m", "torch.distributed.run", "--standalone",
                              "--nproc_per_node=2", __file__])

import torch.distributed as dist  # noqa: E402

dist.init_process_group("gloo")
if dist.get_rank() == 1:
    os.kill(os.getpid(), signal.SIGKILL)  # stand-in for the OOM killer
dist.barrier()
dist.destroy_process_group()
