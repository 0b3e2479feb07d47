"""Advisors: small functions, keyed by name, that turn probes into tailored advice.

An advisor is ``advise(incident) -> Advice | None``.  It is imported
only when its entry fires, so advisors may use heavier helpers (libcst for
patches) without slowing anything else.  An entry without an advisor still
gives its static fixes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from diagnose.incident import Incident
from diagnose.report import Advice

# advisor name (the entry's ``advisor:`` field) -> module under diagnose.advisors
REGISTRY: dict[str, str] = {
    "target-modules": "target_modules",
    "peft-target-modules-unspecified": "target_modules_unspecified",
    "peft-unsupported-target-module": "unsupported_target",
    "cuda-out-of-memory": "cuda_oom",
    "device-mismatch": "device_mismatch",
    "dtype-mismatch": "dtype_mismatch",
    "fp16-unscale": "fp16_unscale",
    "peft-model-missing-attribute": "missing_attribute",
    "peft-config-unknown-field": "config_field",
    "pad-token-missing": "pad_token",
    "empty-optimizer": "empty_optimizer",
    "no-grad-fn": "no_grad_fn",
    "api-drift": "api_drift",  # api-argument-removed and api-import-removed: one history, one advisor
    "peft-task-type-mismatch": "task_type",
    "config-value-wrong-type": "config_type",
    "label-shape-mismatch": "label_shape",
}

Advisor = Callable[[Incident], "Advice | None"]


def get_advisor(name: str) -> Advisor | None:
    module_name = REGISTRY.get(name)
    if module_name is None:
        return None
    module = importlib.import_module(f"diagnose.advisors.{module_name}")
    return module.advise


def advise(name: str | None, incident: Incident) -> Advice | None:
    if not name:
        return None
    advisor = get_advisor(name)
    if advisor is None:
        return None
    return advisor(incident)
