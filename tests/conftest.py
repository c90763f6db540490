import pytest

from entropy_rl.config import load_config

TINY = [
    "model.tiny.hidden_size=32",
    "model.tiny.num_layers=1",
    "model.tiny.num_heads=2",
    "model.tiny.warmup_steps=30",
    "model.tiny.warmup_batch=32",
    "task.name=chain_sum",
    "task.options={min_terms: 2, max_terms: 2, min_digits: 1, max_digits: 1}",
    "task.n_train=200",
    "task.n_heldout=20",
    "rollout.prompts_per_step=4",
    "rollout.group_size=4",
    "rollout.max_new_tokens=4",
    "trainer.steps=2",
    "trainer.lr=1e-3",
    "trainer.mini_batches=2",
    "trainer.eval_every=2",
    "trainer.eval_problems=4",
    "trainer.eval_k=2",
    "trainer.probe_size=4",
    "trainer.threads=1",
    "algorithm.filter_uniform_groups=false",
]


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("model-cache"))


@pytest.fixture
def tiny_config(tiny_cache):
    """A seconds-long config on a very small tiny model; extra overrides as arguments."""

    def make(*overrides: str):
        return load_config(None, [*TINY, f"model.cache_dir={tiny_cache}", *overrides])

    return make
