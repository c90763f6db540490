"""Models: tokenizers, the policy container, the tiny warm-started model, SmolLM2 from its GGUF, and
``load_policy`` that resolves ``model.name``."""
