"""NOT this family: user code indexes past the end of a Python list.

A data-prep script keeps the last three checkpoints but only two exist:
``IndexError: list index out of range`` is an ordinary list mistake, not an
embedding lookup, so embedding-index-out-of-range must not claim it.
"""

checkpoints = ["checkpoint-500", "checkpoint-1000"]
oldest_kept = checkpoints[-3]
