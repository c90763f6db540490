"""Analysis of finished or running runs: readers (ours, TRL's, verl's), statistics over seeds,
plots and the HTML report. Depends only on the core (and numpy, scipy, matplotlib): ``fit``,
``report`` and ``bandit`` work on the base install."""
