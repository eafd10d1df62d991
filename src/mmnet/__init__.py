"""mmnet: micro-expression recognition with MMNet (Li et al., IJCAI 2022).

    from mmnet import MMNet
    model = MMNet(num_classes=5).eval()  # or MMNet.from_pretrained(folder), already in eval mode
    logits = model(onset, apex)  # (B, 3, 224, 224) float frames, ImageNet-normalised -> (B, 5)
"""

from typing import TYPE_CHECKING

from .version import __version__

if TYPE_CHECKING:  # type checkers and IDEs see the public names; at run time they load lazily (below)
    from .model import MMNet, MMNetConfig, convert_official_state_dict, load_official_checkpoint

__all__ = [
    "__version__",
    "MMNet",
    "MMNetConfig",
    "convert_official_state_dict",
    "load_official_checkpoint",
]


if not TYPE_CHECKING:  # hidden from type checkers: a module __getattr__ would make them accept any name (mmnet.MMNt)

    def __getattr__(name: str) -> object:
        # The public names live in mmnet.model, which imports torch (~2 s). Importing them lazily keeps
        # `mmnet --help` and the pure-Python parts (datasets, reports) fast.
        if name in __all__[1:]:
            from . import model

            return getattr(model, name)
        raise AttributeError(f"module 'mmnet' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The lazy names above are part of the module's API: list them (tab completion, dir(mmnet)).
    return sorted(set(globals()) | set(__all__))
