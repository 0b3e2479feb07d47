"""Succeeds: coloured lines and a progress bar redrawn with carriage returns (as tqdm does)."""

import sys
import time

print("\x1b[32mloading model\x1b[0m done")
for step in range(101):
    sys.stderr.write(f"\rtraining: {step:3d}%|{'█' * (step // 5):<20}| {step}/100")
    sys.stderr.flush()
    time.sleep(0.001)
sys.stderr.write("\n")
print("\x1b[1mfinished\x1b[0m: loss 0.1234")
