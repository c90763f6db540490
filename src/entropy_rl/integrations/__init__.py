"""Plug-ins for the engines users scale out on. Each module imports its engine; the core never does.

- ``entropy_rl.integrations.trl``: ``EntropyGRPOTrainer``, TRL's ``GRPOTrainer`` with entropy-rl's
  policy losses, diagnostics, controllers and running entropy-law fit.
"""
