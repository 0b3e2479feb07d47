"""What head a transformers model class has, the peft task_type that fits it, and which class a run used.

A model's head is in its class name (``LlamaForCausalLM``,
``BertForSequenceClassification``); peft's ``task_type`` picks the PeftModel
class that wraps it (``SEQ_CLS`` -> ``PeftModelForSequenceClassification``)
but never changes the head.  Read from the probes (the model and the modules
inside a PeftModel), the attribute_error probe, or a message.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from diagnose.advisors._common import models
from diagnose.incident import Incident


class Head(NamedTuple):
    task_type: str  # the peft TaskType that fits it
    describe: str  # "a causal language model"
    auto_class: str  # the Auto class that loads this head
    labels: str  # what its labels look like


CAUSAL = Head("CAUSAL_LM", "a causal language model", "AutoModelForCausalLM", "one token id per input position")
SEQ2SEQ = Head(
    "SEQ_2_SEQ_LM", "an encoder-decoder language model", "AutoModelForSeq2SeqLM", "the target text's token ids"
)
SEQ_CLS = Head("SEQ_CLS", "a sequence classifier", "AutoModelForSequenceClassification", "one class id per sequence")
TOKEN_CLS = Head("TOKEN_CLS", "a token classifier", "AutoModelForTokenClassification", "one class id per token")
QA = Head("QUESTION_ANS", "an extractive question-answering model", "AutoModelForQuestionAnswering", "")
FEATURES = Head("FEATURE_EXTRACTION", "a bare encoder/decoder without a head", "AutoModel", "")

HEADS = {h.task_type: h for h in (CAUSAL, SEQ2SEQ, SEQ_CLS, TOKEN_CLS, QA, FEATURES)}
# the PeftModel class each task_type builds
PEFT_CLASSES = {
    "PeftModelForCausalLM": "CAUSAL_LM",
    "PeftModelForSeq2SeqLM": "SEQ_2_SEQ_LM",
    "PeftModelForSequenceClassification": "SEQ_CLS",
    "PeftModelForTokenClassification": "TOKEN_CLS",
    "PeftModelForQuestionAnswering": "QUESTION_ANS",
    "PeftModelForFeatureExtraction": "FEATURE_EXTRACTION",
}
# encoder-decoder families: their *ForConditionalGeneration is a seq2seq LM (Llava's, Gemma 3's are causal)
_SEQ2SEQ_FAMILIES = re.compile(
    r"^(?:T5|MT5|UMT5|LongT5|SwitchTransformers|Bart|MBart|PLBart|Pegasus|PegasusX|Marian|Blenderbot|"
    r"BlenderbotSmall|FSMT|M2M100|NllbMoe|ProphetNet|LED|BigBirdPegasus|Whisper|Speech2Text|SeamlessM4T\w*)"
    r"For(?:ConditionalGeneration|Seq2SeqLM)$"
)


def head_of(class_name: str | None) -> Head | None:
    """The head of a transformers model class, from its name (None for a class that is not a model)."""
    if not class_name or class_name.startswith(("PeftModel", "LoraModel")):
        return None
    if _SEQ2SEQ_FAMILIES.match(class_name) or class_name.endswith("ForSeq2SeqLM"):
        return SEQ2SEQ
    for suffix, head in (
        ("ForCausalLM", CAUSAL),
        ("LMHeadModel", CAUSAL),
        ("ForConditionalGeneration", CAUSAL),
        ("ForSequenceClassification", SEQ_CLS),
        ("ForTokenClassification", TOKEN_CLS),
        ("ForQuestionAnswering", QA),
    ):
        if class_name.endswith(suffix):
            return head
    if re.match(r"^[A-Z]\w*Model$", class_name) and not class_name.endswith("PreTrainedModel"):
        return FEATURES
    return None


class ModelClasses(NamedTuple):
    base: str | None  # the transformers model class ("LlamaForCausalLM")
    wrapper: str | None  # the PeftModel class around it, if any
    variable: str | None  # the user's name for the model


def model_classes(incident: Incident) -> ModelClasses:
    """The transformers model class in play and the PeftModel class wrapping it, from the probes."""
    base = wrapper = variable = None
    for probe in models(incident):
        cls = probe.get("class")
        if cls in PEFT_CLASSES:
            wrapper = wrapper or cls
            inner = _module_class(probe, "base_model.model")
            base = base or inner
            variable = variable or (probe.get("variables") or [None])[0]
        elif cls == "LoraModel":
            base = base or _module_class(probe, "model")
        elif head_of(cls) is not None and not base:
            base = cls
            variable = variable or (probe.get("variables") or [None])[0]
    attribute = incident.probes.get("attribute_error") or {}
    if not base and head_of(attribute.get("object_type")) is not None:
        base = attribute["object_type"]
    return ModelClasses(base, wrapper, variable)


def _module_class(probe: dict[str, Any], name: str) -> str | None:
    for entry in probe.get("modules", [])[:8]:
        if isinstance(entry, list) and entry and entry[0] == name:
            return entry[1]
    return None


_TASK_IN_SOURCE = re.compile(r"task_type\s*=\s*(?:(?:peft\.)?TaskType\.(\w+)|[\"'](\w+)[\"'])")


def given_task_type(incident: Incident, source: str = "") -> str | None:
    """The task_type of the peft config in play: the captured config, else the script's text."""
    for config in incident.probes.get("peft_configs", []):
        value = (config.get("fields") or {}).get("task_type")
        if isinstance(value, str) and value:
            return value
    found = _TASK_IN_SOURCE.findall(source)
    values = {a or b for a, b in found}
    return values.pop() if len(values) == 1 else None
