"""Grad-CAM (Selvaraju et al., ICCV 2017) of one class on MMNet's fused features.

Unlike the CA maps, which are computed before the classifier and are the same for every class, Grad-CAM
weighs the fused (B, 512, S/16, S/16) features (motion branch + position calibration, the classifier's
input) by the gradient of the chosen class's logit: channel k's weight is the spatial mean of
d logit / d feature_k, and the map is ReLU(sum_k weight_k * feature_k). It is therefore only S/16 cells on a
side (14 x 14 for 224-pixel faces), one per 16 x 16 input pixels.

A fused cell mixes two places on the face. The motion branch's stage-4 cell j is centred on input pixel 16 j
(every stride-2 layer is padded to keep cell j on pixel 2 j; its receptive field is 39 pixels wide); the PC
branch's token j is the onset resized to S/16 bilinearly (align_corners=False), which samples pixel 16 j + 7.5:
without antialiasing (the paper's setting) it reads pixels 16 j + 7 and 16 j + 8 only, with it a 32-pixel tent
around 16 j + 7.5. The figure draws the map on the motion branch's cells (as the CA maps); the PC share of each
cell lies :func:`pc_offset` pixels (7.5) further down and right. This is the network's own geometry, not a
drawing error: no single placement fits both branches.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError

__all__ = ["GRADCAM_NOTE", "grad_cam", "cam_weights", "channel_sum", "target_index", "main_cell_centres",
           "pc_token_centres", "pc_offset", "placement_note", "NO_PC"]

GRADCAM_NOTE = ("Grad-CAM of the target class on the fused features (motion + PC branches, the classifier's input): "
                "only S/16 cells on a side, one per 16 x 16 input pixels; shares: each branch's part of its positive "
                "attribution; deletion_check: how much removing the motion in its top cells, in random cells and "
                "in its lowest cells lowers the target class's score (null: not measured)")
#: How the figure's record and its heading say that the map has no PC part (a model with use_pc=False).
NO_PC = "this model has no PC branch"


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
    return torch.relu(channel_sum(cam_weights(model, features, target), features)).cpu().numpy()


def cam_weights(model, features: torch.Tensor, target: int) -> torch.Tensor:
    """Grad-CAM's (512,) channel weights: the spatial mean of d logit_target / d features (fp32)."""
    with torch.inference_mode(False), torch.enable_grad():
        a = features.detach().clone().float().requires_grad_(True)  # a copy outside inference mode
        head = model.forward_head(a.to(features.dtype))[0, target]
        (grad,) = torch.autograd.grad(head, a)
    return grad[0].mean(dim=(1, 2))


def channel_sum(weights: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """sum_k weights_k * features_k of (1, 512, h, w) ``features``: the (h, w) map before Grad-CAM's ReLU. Linear in
    ``features``, so the maps of the fused features' two summands add up to the fused map's."""
    return (weights[:, None, None] * features.detach()[0].float()).sum(dim=0)


def main_cell_centres(model) -> tuple[float, float]:
    """(stride, first): the motion branch's stage-4 cell j is centred on input pixel first + stride * j, from the
    kernel, stride, padding and dilation of each layer on its path (motion stem, stem conv, each stage's 3x3 conv;
    the 1x1 shortcuts and the attention's 3x3 pooling padded by 1 centre their cells alike)."""
    branch = model.main_branch
    layers = [model.motion_stem.conv, branch.conv1] + [getattr(branch, f"layer{i}")[0].conv1
                                                       for i in range(1, branch.num_stages + 1)]
    stride, first = 1.0, 0.0
    for conv in layers:
        (k, _), (s, _), (p, _), (d, _) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
        first += stride * (d * (k - 1) / 2 - p)  # output cell 0's centre, in input pixels
        stride *= s
    return stride, first


def pc_token_centres(model) -> tuple[float, float] | None:
    """(step, first): the PC branch's token j reads the onset around input pixel first + step * j (the centre of
    its bilinear resize to the token grid); None for a model without PC."""
    pc = model.pc_module
    if pc is None:
        return None
    size = model.config.image_size
    if pc.align_corners:
        return (size - 1) / (pc.grid - 1) if pc.grid > 1 else 0.0, 0.0
    step = size / pc.grid
    return step, step / 2 - 0.5


def pc_offset(model) -> float | None:
    """How many input pixels PC token j lies down (and right) of motion cell j, the place Grad-CAM's cell j is
    drawn: 7.5 for MMNet at any size (S/16 grid, align_corners=False); None for a model without PC. Raises
    ValueError if the two grids differ in spacing (the offset would then vary from cell to cell)."""
    pc = pc_token_centres(model)
    if pc is None:
        return None
    stride, first = main_cell_centres(model)
    if abs(pc[0] - stride) > 1e-9:
        raise ValueError(f"the PC tokens are {pc[0]:g} px apart, the motion branch's cells {stride:g}")
    return pc[1] - first


def placement_note(model) -> str:
    """Where the Grad-CAM figure puts each cell, and where the PC share of that cell lies (figure record)."""
    stride, first = main_cell_centres(model)
    where = (f"cell j drawn centred on input pixel {first:g} + {stride:g} j (both axes), the motion branch's stage-4 "
             "cell, as the CA maps")
    offset = pc_offset(model)
    if offset is None:
        return f"{where}; {NO_PC}"
    step, pc_first = pc_token_centres(model)
    return (f"{where}; the PC branch's token j, added into the same cell, samples the onset at input pixel "
            f"{pc_first:g} + {step:g} j, {offset:g} px further down and right: each fused cell mixes the two "
            "places (the network's geometry, not corrected by the drawing)")
