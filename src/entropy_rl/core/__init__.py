"""The pure-torch core that our trainer and the engine plug-ins both call.

``losses`` (registered policy losses and their aggregation), ``advantages``, ``entropy``
(chunked and fused), ``dynamics`` (the covariance that drives entropy change), ``diagnostics``
(what every engine logs), ``controllers``, ``law`` (R = −a·e^H + b), ``metrics`` (pass@k,
diversity, calibration) and ``bandit``. Imports only torch, numpy and scipy: no transformers,
pydantic, typer, yaml or matplotlib (``tests/test_layers.py`` checks it).
"""
