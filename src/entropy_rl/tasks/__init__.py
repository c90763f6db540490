"""Tasks: prompts with a seeded train / held-out split and a verifier (reasoning-gym, countdown,
JSONL/parquet, GSM8K/MATH, a user's reward function). ``factory.make_task`` is the one place that
knows every kind."""
