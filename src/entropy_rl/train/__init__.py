"""Our trainer: rollout, update, evaluation, checkpoints, metric trackers, the training loop
(``trainer.train``) and the experiment runner behind ``compare`` (``experiment``)."""
