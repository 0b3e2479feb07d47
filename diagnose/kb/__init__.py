"""The knowledge base: YAML entries (schema.py), their loading (loader.py) and tools (command.py)."""
