"""Configuration, one mechanism: typed dataclasses with the paper's values as defaults, YAML files, and one
override path (``section.key=value``, as ``--set`` and sweep settings write it).

Defaults reproduce the authors' 5-class CASME II script (CASME2_5.py); each field's comment gives its source where
the paper and the code differ. Unknown keys, wrong types and bad values are errors that name the key. Seeds are
expanded (:func:`expand_seeds`) here and nowhere else. Re-exported: :func:`parse_root` (mmnet.dataset_root) and
:class:`ExecutorConfig` (mmnet.executor_config), which says how the folds run and is not part of the experiment.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .choices import BAD_SAMPLE_POLICIES, CASME2_LAYOUTS, PRECISIONS, PROTOCOLS, SELECTIONS
from .config_history import rename_earlier_keys, rename_hint, renamed_key
from .config_types import check_class_names, check_device_name, check_fields, check_type
from .dataset_root import format_root, parse_root
from .errors import ConfigError, did_you_mean, verify_choice
from .executor_config import ExecutorConfig
from .model.config import MMNetConfig  # torch-free: a bad config is said before torch loads
from .overrides import override_key, override_list, parse_override
from .recipes import locate, read_yaml
from .slurm_time import slurm_minutes

__all__ = ["DataConfig", "AugmentConfig", "TrainConfig", "EvalConfig", "SpottingConfig", "ExperimentConfig",
           "ExecutorConfig", "load_config", "config_from_dict", "config_to_dict", "apply_overrides", "override_key",
           "set_value", "parse_override", "override_list", "expand_seeds", "parse_root", "format_root", "slurm_minutes",
           "DERIVED_KEYS", "flatten_config", "non_default_values"]


FLOW_METHODS = ("tvl1", "dis", "farneback")  # mmnet.preprocess.flow's (a test keeps them equal)


@dataclass
class DataConfig:
    dataset: str = "casme2"  # loader name (mmnet.data.DATASETS)
    root: str | None = None  # dataset root; for the composite: "casme2=DIR,samm=DIR,smic=DIR"
    annotation: str | None = None  # annotation file, when not the loader's default name
    # table dataset: frame file names with {frame} ('img{frame}.jpg'); None = the last number in an image's name
    frames: str | None = None
    fps: float | None = None  # table-long: the frame rate of the recordings whose rows give none (no fps cell)
    layout: str | None = None  # CASME II's frames folder (also the composite's part); None: the first present
    scheme: str | None = None  # label scheme; None = the dataset's default (casme2 -> casme2-5class)
    classes: list[str] | None = None  # filled from the scheme in the resolved config (logit order)
    protocol: str = "loso"  # "loso" (leave one subject out) or "lodo" (leave one dataset out)
    image_size: int = 224  # frames are resized to image_size x image_size (bilinear)
    jitter_fraction: float = 0.15  # onset/apex jitter: int(jitter_fraction * (apex - onset) / 4) frames
    # "error" | "skip" (listed in skipped.csv) | "nearest" (clamp to nearest frame on disk)
    on_bad_sample: str = "error"
    # decoded-frame cache; None = $MMNET_CACHE_DIR, $XDG_CACHE_HOME/mmnet or ~/.cache/mmnet
    cache_dir: str | None = None
    flow_method: str = "tvl1"  # optical flow for model.main_input == "flow"
    permute_labels: bool = False  # control experiment: labels shuffled across samples (expect chance)

    def __post_init__(self) -> None:
        check_fields(self, "data")
        check_class_names("data.classes", self.classes)  # each must be namable again in lists (--classes, maps)
        verify_choice("data.protocol", self.protocol, PROTOCOLS)
        verify_choice("data.on_bad_sample", self.on_bad_sample, BAD_SAMPLE_POLICIES)
        verify_choice("data.flow_method", self.flow_method, FLOW_METHODS)
        if self.frames is not None and self.dataset != "table":
            raise ConfigError(f"data.frames ({self.frames!r}) names the frame files of the 'table' dataset; "
                              f"{self.dataset!r} finds its frames by its own layout: leave data.frames out.")
        if self.layout is not None:
            verify_choice("data.layout", self.layout, CASME2_LAYOUTS)
            if self.dataset not in ("casme2", "composite"):
                raise ConfigError(f"data.layout ({self.layout!r}) chooses CASME II's frames folder; {self.dataset!r} "
                                  "has no such choice: leave data.layout out.")
        if self.fps is not None and self.dataset != "table-long":
            raise ConfigError(f"data.fps ({self.fps!r}) is the frame rate of a lab's own recordings (table-long) "
                              f"whose rows give none; {self.dataset!r} has its own rate: leave data.fps out.")
        if self.image_size < 16 or self.image_size % 16:
            raise ConfigError(f"data.image_size must be a positive multiple of 16, got {self.image_size}")
        if not 0.0 <= self.jitter_fraction <= 1.0:
            raise ConfigError(f"data.jitter_fraction must be in [0, 1], got {self.jitter_fraction}")


@dataclass
class AugmentConfig:
    """Training augmentation; one random draw per sample, applied identically to onset and apex."""

    hflip: float = 0.5  # probability of a horizontal flip
    rotate_degrees: float = 3.0  # rotation uniform in [-d, d] (nearest); 3-class script: 4
    crop_padding: int = 15  # random crop of the zero-padded image; 3-class script: 4

    def __post_init__(self) -> None:
        check_fields(self, "augment")
        if not 0.0 <= self.hflip <= 1.0:
            raise ConfigError(f"augment.hflip must be a probability in [0, 1], got {self.hflip}")
        if not (math.isfinite(self.rotate_degrees) and self.rotate_degrees >= 0) or self.crop_padding < 0:
            raise ConfigError(f"augment.rotate_degrees must be a finite number >= 0 and augment.crop_padding >= 0, "
                              f"got {self.rotate_degrees!r} and {self.crop_padding!r}")


@dataclass
class TrainConfig:
    epochs: int = 74  # CASME2_5.py trains range(1, 75); the paper's text says 70
    batch_size: int = 32  # 3-class script: 24
    lr: float = 8e-4  # AdamW
    weight_decay: float = 0.6  # 3-class script: 0.7
    lr_gamma: float = 0.987  # ExponentialLR
    lr_decay_epochs: int = 50  # the scheduler steps after epochs 1..50, then the rate is held
    precision: str = "auto"  # "auto" | "fp32" | "bf16"
    # "auto" on CPU: measured once per machine and image size (mmnet.train.calibrate, cached, shown by `mmnet
    # info`); without a measurement, by the device's kind (runtime.plan_compute; docs/performance.md).
    memory_format: str = "auto"  # "auto" | "channels_last" | "contiguous"
    # TF32 on NVIDIA GPUs (mmnet.tf32): null keeps PyTorch's defaults (TF32 convolutions: how the authors ran);
    # false: strict fp32; true: TF32 in matrix products too
    tf32: bool | None = None
    device: str = "auto"  # "auto" (cuda if available) | "cpu" | "cuda" | "cuda:N"
    seed: int = 0  # the run's seed when `seeds` is not given; the first of a seed count (--seeds N)
    save_models: bool = False  # keep each fold's final model (safetensors) in the run folder
    # true: after the LOSO folds, one model on every subject for train.epochs (RUN/final/, with a
    # model card); "only": that model without the folds. Not part of the experiment: adding it to a
    # finished run continues the run.
    final_fit: bool | str = False
    tensorboard: bool = False  # event files in RUN/tensorboard (extra `tensorboard`); not part of the experiment
    # torch.compile the network: compilation (~1 min per fold the first time, a C++ compiler on CPU),
    # then compiled steps: faster or not depending on the CPU and torch (docs/performance.md, "torch.compile on CPU")
    compile: bool = False
    state_every_s: float = 60.0  # seconds between resume-state writes (0: every epoch); not part of the experiment
    card_contact: str = ""  # who answers for the final model, on its model card ("" -> "not given"); not the experiment

    def __post_init__(self) -> None:
        check_fields(self, "train")
        if not 0 <= self.state_every_s < math.inf:  # NaN fails it too
            raise ConfigError(f"train.state_every_s must be a number of seconds >= 0, got {self.state_every_s!r}")
        verify_choice("train.precision", self.precision, PRECISIONS)
        verify_choice("train.memory_format", self.memory_format, ("auto", "channels_last", "contiguous"))
        if self.final_fit not in (True, False, "only") or not isinstance(self.final_fit, (bool, str)):
            raise ConfigError(f"train.final_fit must be true, false or only, got {self.final_fit!r}")
        check_device_name(self.device)
        for name, least in (("epochs", 1), ("batch_size", 1), ("lr_decay_epochs", 0)):
            if getattr(self, name) < least:  # lr_decay_epochs 0: the rate is never decayed
                raise ConfigError(f"train.{name} must be >= {least}, got {getattr(self, name)}")
        # written so that NaN fails them; infinities are refused by name
        finite = all(math.isfinite(v) for v in (self.lr, self.weight_decay, self.lr_gamma))
        if not finite or not self.lr > 0 or not self.weight_decay >= 0 or not 0 < self.lr_gamma <= 1:
            raise ConfigError(f"train.lr must be a finite number > 0, train.weight_decay finite and >= 0, "
                              f"train.lr_gamma in (0, 1]; got lr={self.lr!r}, weight_decay={self.weight_decay!r}, "
                              f"lr_gamma={self.lr_gamma!r}")


@dataclass
class EvalConfig:
    # "last": the model after the last epoch (honest). "paper": additionally the authors'
    # per-fold best epoch on the test subject, always labelled optimistic.
    selection: str = "last"

    def __post_init__(self) -> None:
        check_fields(self, "eval")
        verify_choice("eval.selection", self.selection, SELECTIONS)


@dataclass
class SpottingConfig:
    """Spot then recognise (long-video datasets only): the spotter's settings (mmnet.spotting.config.SpotConfig).

    Checked against SpotConfig when a run starts (spotting imports this module, not the reverse).
    """

    preset: str | None = None  # None: the dataset's (casme-sq -> casme2, samm-long -> samm, casme3-long -> casme3)
    overrides: list[str] = field(default_factory=list)  # SpotConfig values, "key=value" / "section.key=value"

    def __post_init__(self) -> None:
        check_fields(self, "spotting")


@dataclass
class ExperimentConfig:
    # model.num_classes follows the label scheme (DERIVED_KEYS); model.image_size data.image_size (or must equal it)
    model: MMNetConfig = field(default_factory=MMNetConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    spotting: SpottingConfig = field(default_factory=SpottingConfig)  # long-video datasets: spot then recognise
    # one LOSO per seed; report mean and std. None: [train.seed]; a count N: train.seed + 0..N-1
    seeds: list[int] | int | None = None

    def __post_init__(self) -> None:
        for name, cls in _SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"{name} must be a {cls.__name__}, got {getattr(self, name)!r}")
        from_train_seed = not isinstance(self.seeds, list)  # none given, or a count from train.seed
        self.seeds = expand_seeds(1 if self.seeds is None else self.seeds, self.train.seed)
        if min(self.seeds) < 0 and from_train_seed:  # a run folder names each seed-N; the report reads N back
            raise ConfigError(f"train.seed must be >= 0, got {self.train.seed} (the run's seeds {self.seeds} "
                              "start at train.seed)")
        if min(self.seeds) < 0:
            raise ConfigError(f"seeds must be integers, each >= 0, got {self.seeds}")
        if self.model.image_size == MMNetConfig.image_size != self.data.image_size:  # at its default: follows data
            self.model = dataclasses.replace(self.model, image_size=self.data.image_size)
        if self.model.image_size != self.data.image_size:
            raise ConfigError(f"model.image_size ({self.model.image_size}) differs from data.image_size "
                              f"({self.data.image_size}): the network takes the frames at the data's size. Set "
                              "data.image_size only (model.image_size follows it), or set both to the same value.")


_SECTIONS = {"model": MMNetConfig, "data": DataConfig, "augment": AugmentConfig, "train": TrainConfig,
             "eval": EvalConfig, "spotting": SpottingConfig}


def build_section(cls, values: dict, prefix: str, others: tuple[str, ...] = ()):
    """The dataclass ``cls`` from a config mapping, each value checked against its type; keys are named
    ``prefix.key`` (``key`` when ``prefix`` is empty). A mistyped key is named as written, with the close ones of
    its fields and ``others``."""
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix} must be a mapping, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    name = (lambda key: f"{prefix}.{key}") if prefix else str
    unknown = [name(k) for k in sorted(set(values) - set(fields), key=str)]
    if unknown:
        hints = "".join(rename_hint(k) or did_you_mean(k, [name(f) for f in fields] + list(others)) for k in unknown)
        raise ConfigError(f"Unknown config key(s) {', '.join(unknown)}.{hints} "
                          f"Valid keys{' of ' + prefix if prefix else ''}: {', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    kwargs = {k: check_type(name(k), v, hints[k]) for k, v in values.items()}
    return cls(**kwargs)


def _dotted_keys() -> list[str]:
    return [f"{section}.{f.name}" for section, cls in _SECTIONS.items() for f in dataclasses.fields(cls)] + ["seeds"]


def config_from_dict(values: dict) -> ExperimentConfig:
    values = {k: dict(v) if isinstance(v, dict) else v for k, v in (values or {}).items()}
    rename_earlier_keys(values, note=True)  # an earlier mmnet's key names, read under today's (one note each)
    unknown = sorted(set(values) - set(_SECTIONS) - {"seeds"})
    if unknown:
        hints = "".join(did_you_mean(str(k), list(_SECTIONS) + _dotted_keys()) for k in unknown)
        raise ConfigError(f"Unknown config section(s) {unknown}.{hints} Valid: {sorted(_SECTIONS)} and seeds")
    model = values.get("model") or {}
    if isinstance(model, dict) and "image_size" not in model:  # the model follows the data's frame size
        data = values.get("data") or {}
        if isinstance(data, dict) and data.get("image_size") is not None:
            values["model"] = {**model, "image_size": data["image_size"]}
    # data before model: model.image_size is copied from data.image_size, and an error must name the key the user set
    order = sorted(_SECTIONS, key=lambda name: name != "data")
    kwargs = {name: build_section(_SECTIONS[name], values.get(name) or {}, name, tuple(_dotted_keys()))
              for name in order}
    # without a seeds list, train.seed is the run's one seed (a set train.seed alone must change the run)
    return ExperimentConfig(**kwargs, seeds=values.get("seeds"))


def config_to_dict(cfg: ExperimentConfig) -> dict:
    return dataclasses.asdict(cfg)


def set_value(values: dict, dotted: str, value: object, where: str = "--set") -> None:
    """Set ``section.key`` (or ``seeds``) in a nested config dict: the one way overrides are applied."""
    parts = dotted.strip().split(".")
    if parts == ["seeds"]:
        values["seeds"] = value
        return
    dotted, value = renamed_key(dotted.strip(), value)  # an earlier mmnet's name: today's key (noted)
    parts = dotted.split(".")
    if len(parts) != 2 or not all(parts):
        hint = did_you_mean(dotted.strip(), _dotted_keys()) if len(parts) == 1 else ""
        raise ConfigError(f"{where}: key must be section.key (e.g. train.epochs), got {dotted!r}.{hint}")
    section = values.setdefault(parts[0], {})
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: config section {parts[0]!r} is not a mapping")
    section[parts[1]] = value


def _text_key(dotted: str) -> bool:
    """Whether ``section.key`` holds text (a str field, or ``str | None``)."""
    section, _, name = dotted.strip().partition(".")
    hint = typing.get_type_hints(_SECTIONS[section]).get(name) if section in _SECTIONS else None
    return hint is not None and {a for a in typing.get_args(hint) or (hint,) if a is not type(None)} == {str}


def apply_overrides(values: dict, overrides: list[str | tuple[str, object]] | dict | str,
                    where: str = "--set") -> dict:
    """A copy of ``values`` with overrides applied: ``"section.key=value"`` strings (the value read as YAML, but
    a text key keeps its text: ``data.root=0701`` is ``"0701"``, not 449) or ``(key, value)`` pairs (a dict's items),
    set as given (a plain flag's value: ``--root "/data/x # copy"`` is that folder); see ``override_list``."""
    values = {k: dict(v) if isinstance(v, dict) else v for k, v in (values or {}).items()}
    for item in override_list(overrides):
        if isinstance(item, tuple):
            key, value = item
        else:
            key, value = parse_override(item)
            if _text_key(key) and value is not None and not isinstance(value, (str, list, dict)):
                value = item.split("=", 1)[1].strip()  # YAML's number, boolean or date of what was typed as text
        set_value(values, key, value, where=where)
    return values


def expand_seeds(value: int | list[int], base_seed: int, where: str = "seeds") -> list[int]:
    """A seed count N (``base_seed + 0..N-1``) or an explicit list of distinct seeds -> the list."""
    if isinstance(value, bool) or not isinstance(value, (int, list)):
        raise ConfigError(f"{where}: seeds must be a count (e.g. 5) or a list of integers, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise ConfigError(f"{where}: a count of seeds must be >= 1, got {value} (seed {value} alone: [{value}])")
        return [base_seed + i for i in range(value)]
    if (not value or not all(isinstance(s, int) and not isinstance(s, bool) for s in value)
            or len(set(value)) != len(value)):
        raise ConfigError(f"{where}: seeds must be a non-empty list of distinct integers, got {value!r}")
    return list(value)


#: Keys always filled from the label scheme; summaries list the classes instead (model.image_size can be set: kept).
DERIVED_KEYS = ("data.classes", "model.num_classes")


def flatten_config(values: dict | None, prefix: str = "") -> dict:
    """A config mapping by dotted key, at every depth: ``{"train": {"lr": 0.1}}`` -> ``{"train.lr": 0.1}``."""
    return {dotted: v for key, value in (values or {}).items()
            for dotted, v in (flatten_config(value, f"{prefix}{key}.") if isinstance(value, dict)
                              else {f"{prefix}{key}": value}).items()}


def non_default_values(values: dict) -> dict:
    """The values of a config mapping (dotted keys) that differ from the built-in defaults, derived keys left out."""
    defaults, missing = flatten_config(config_to_dict(ExperimentConfig())), object()
    return {k: v for k, v in flatten_config(values).items() if k not in DERIVED_KEYS and defaults.get(k, missing) != v}


def without_derived(values: dict) -> dict:
    """A config file's values without the keys a resolved config fills in (``--print-config``, a run's config.yaml)
    where they equal what the file's own settings derive: model.image_size, data.classes (and a data.scheme that is
    the dataset's default), model.num_classes, seeds ``[train.seed]``. Overriding their sources (data.image_size,
    --scheme, --dataset, train.seed) then changes them; a value that differs is kept (and refused)."""
    from .data.schemes import DEFAULT_SCHEME, get_scheme

    values = {k: dict(v) if isinstance(v, dict) else v for k, v in values.items()}
    sections = {name: values.get(name) if isinstance(values.get(name), dict) else {} for name in _SECTIONS}
    data, model, train = sections["data"], sections["model"], sections["train"]
    if "image_size" in model and model["image_size"] == data.get("image_size", DataConfig.image_size):
        del model["image_size"]
    default_scheme = DEFAULT_SCHEME.get(data.get("dataset", DataConfig.dataset))
    try:
        scheme = get_scheme(data.get("scheme") or default_scheme)
    except ConfigError:  # an unknown dataset or scheme: named when the config is built
        scheme = None
    if scheme is not None and data.get("classes") == list(scheme.classes):
        del data["classes"]
        if data.get("scheme") == default_scheme:  # a resolved config's (a recipe that names its scheme keeps it)
            del data["scheme"]
    if scheme is not None and "num_classes" in model and model["num_classes"] == scheme.num_classes:
        del model["num_classes"]
    if values.get("seeds") == [train.get("seed", TrainConfig.seed)]:
        del values["seeds"]
    return values


def _check_seed_given_once(values: dict, overrides: list) -> None:
    """A train.seed given on the command line may not be lost under a config file's own seed list."""
    keys = {override_key(item) for item in overrides}
    seeds = values.get("seeds")
    if "train.seed" not in keys or "seeds" in keys or not isinstance(seeds, list) or not seeds:
        return
    seed = config_from_dict(apply_overrides(values, overrides)).train.seed
    if seeds[0] != seed:
        raise ConfigError(f"train.seed={seed} is given, but the config file lists seeds {seeds}, which decide the "
                          f"run's seeds (train.seed is then unused). Give the seeds instead (--set 'seeds=[{seed}]'), "
                          "or remove seeds from the file.")


def load_config(path: str | Path | None = None,
                overrides: list[str | tuple[str, object]] | dict | str | None = None) -> ExperimentConfig:
    """Read a YAML experiment file or a shipped recipe by name (or the defaults) and apply ``--set``
    overrides (``"section.key=value"`` strings, (key, value) pairs or a dict: ``override_list``). ``path`` is a
    file, else a recipe name (:func:`mmnet.recipes.locate`). The keys that the file's own settings derive are
    dropped first (:func:`without_derived`), so that overriding their sources works."""
    values: dict = {}
    overrides = override_list(overrides)
    if path is not None:
        p = locate(path)
        values = read_yaml(p) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"Config file '{p}' must hold a mapping of sections (model, data, augment, train, "
                              f"eval, seeds), not a {type(values).__name__}; the recipes (`mmnet train "
                              "--list-recipes`) are examples.")
        # an earlier mmnet's names (its run's Reproduce line gives its config.yaml), before the overrides' new ones
        rename_earlier_keys(values, note=True)
        values = without_derived(values)
        _check_seed_given_once(values, overrides)
    try:
        return config_from_dict(apply_overrides(values, overrides))
    except ConfigError as exc:
        if path is not None and _fails_alike(values, exc):  # the file's own value: name the file to edit
            raise ConfigError(f"Config file '{p}': {exc}") from None
        raise


def _fails_alike(values: dict, error: ConfigError) -> bool:
    """Whether ``values`` alone (no overrides) fail with the same message as ``error``."""
    try:
        config_from_dict(values)
    except ConfigError as own:
        return str(own) == str(error)
    return False
