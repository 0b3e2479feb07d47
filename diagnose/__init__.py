"""lora-diagnose: runs LoRA fine-tuning scripts, diagnoses their errors, teaches the fix."""

__version__ = "0.1.0"
