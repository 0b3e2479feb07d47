# Copy the weights of a 2-layer model into a 1-layer one for a quick distillation test.
from transformers import LlamaConfig, LlamaForCausalLM

small = dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_attention_heads=2, num_key_value_heads=2)
teacher = LlamaForCausalLM(LlamaConfig(num_hidden_layers=2, **small))
student = LlamaForCausalLM(LlamaConfig(num_hidden_layers=1, **small))
student.load_state_dict(teacher.state_dict())
