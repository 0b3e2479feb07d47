"""Prints forever until interrupted; exits 130 on Ctrl-C like most scripts."""

import itertools
import sys
import time

try:
    for n in itertools.count():
        print(f"tick {n}", flush=True)
        time.sleep(0.02)
except KeyboardInterrupt:
    print("interrupted, cleaning up", flush=True)
    sys.exit(130)
