"""entropy-rl: measure, predict and control policy entropy in RL with verifiable rewards.

The core (``losses``, ``advantages``, ``entropy``, ``dynamics``, ``controllers``, ``law``,
``metrics``) needs only torch, numpy and scipy; everything that touches transformers,
reasoning-gym or math-verify lives outside it.
"""

__version__ = "0.1.0"
