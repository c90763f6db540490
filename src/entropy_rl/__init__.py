"""entropy-rl: measure, predict and control policy entropy in RL with verifiable rewards.

Layers, imports pointing one way: ``core`` (pure torch) ← ``scoring`` ← ``tasks`` ← ``models`` ←
``train``; ``analysis`` and ``integrations`` build on ``core`` only; ``cli`` sits on top. ``config``
(pydantic) sits below tasks, models and train.
"""

__version__ = "0.1.0"
