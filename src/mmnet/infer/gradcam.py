"""Grad-CAM (Selvaraju et al., ICCV 2017) of one class on MMNet's fused features.

Unlike the CA maps, which are computed before the classifier and are the same for every class, Grad-CAM
weighs the fused (B, 512, S/16, S/16) features (motion branch + position calibration, the classifier's
input) by the gradient of the chosen class's logit: channel k's weight is the spatial mean of
d logit / d feature_k, and the map is ReLU(sum_k weight_k * feature_k). It is therefore only S/16 cells on a
side (14 x 14 for 224-pixel faces): each cell covers 16 x 16 input pixels.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError

__all__ = ["GRADCAM_NOTE", "grad_cam", "target_index"]

GRADCAM_NOTE = ("Grad-CAM of the target class on the fused features (motion + PC branches, the classifier's input): "
                "only S/16 cells on a side, each covering 16 x 16 input pixels; not tested for faithfulness")


def target_index(class_names: list[str], target: str | None, probabilities: np.ndarray) -> int:
    """The index of ``target`` among ``class_names``, or of the most probable class when None."""
    if target is None:
        return int(np.argmax(probabilities))
    if target not in class_names:
        raise ConfigError(f"The target class {target!r} (--target-class) is not one of this checkpoint's classes: "
                          f"{', '.join(class_names)}. Give one of them, or leave it out for the predicted class.")
    return class_names.index(target)


def grad_cam(model, features: torch.Tensor, target: int) -> np.ndarray:
    """The (S/16, S/16) Grad-CAM map of class ``target`` for (1, 512, S/16, S/16) fused ``features``."""
    with torch.inference_mode(False), torch.enable_grad():
        a = features.detach().clone().float().requires_grad_(True)  # a copy outside inference mode
        head = model.forward_head(a.to(features.dtype))[0, target]
        (grad,) = torch.autograd.grad(head, a)
    weights = grad[0].mean(dim=(1, 2))  # (512,)
    cam = torch.relu((weights[:, None, None] * a.detach()[0]).sum(dim=0))
    return cam.cpu().numpy()
