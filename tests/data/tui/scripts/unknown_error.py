"""Fails with an error no KB entry knows: the TUI must abstain, not guess."""


class FluxCapacitorError(RuntimeError):
    pass


def warp(speed):
    raise FluxCapacitorError(f"flux capacitor overheated at {speed} mph")


print("starting the warp drive")
warp(88)
