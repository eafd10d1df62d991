"""SPOTTERS (spotting/spotters.py) is the one registry of spotters: the config's ``method`` choices, make_spotter
and load_spotter all read it, and every registered spotter survives a save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest

from mmnet.spotting.config import spot_config
from mmnet.spotting.learned import FlowSpotter, load_spotter
from mmnet.spotting.spotters import SPOTTERS, make_spotter, spotter_class

pytest.importorskip("torch")


class ToySpotter(FlowSpotter):
    """A spotter added by a contributor: registered in SPOTTERS alone."""

    method = "toy"


def _trained(spotter):
    """A spotter in a state that can be saved, cheaply: a spotter that learns gets untrained networks."""
    if spotter.method == "learned":
        from mmnet.spotting.learned_net import make_net

        spotter.nets = {"micro": (make_net(spotter.config.learned.size).eval(), np.ones(3, np.float32))}
    return spotter


@pytest.mark.parametrize("method", sorted(SPOTTERS))
def test_every_registered_spotter_survives_a_save_load_round_trip(method, tmp_path):
    cls = spotter_class(method)
    assert cls.method == method  # the name it is registered under is the one it saves
    spotter = _trained(make_spotter(spot_config("casme2", [f"method={method}", "micro.k=5"]), seed=3))
    assert type(spotter) is cls
    spotter.save(tmp_path / "s.pt")
    again = load_spotter(tmp_path / "s.pt")
    assert type(again) is cls and again.config == spotter.config and again.seed == 3
    for s, (net, scale) in getattr(spotter, "nets", {}).items():  # a learned spotter's networks come back as saved
        loaded, loaded_scale = again.nets[s]
        assert np.array_equal(loaded_scale, scale)
        assert all((a == b).all() for a, b in zip(net.state_dict().values(), loaded.state_dict().values()))


def test_a_spotter_added_to_spotters_alone_is_known_everywhere(tmp_path, monkeypatch):
    # the config's choices and load_spotter's lookup were hand-kept lists of their own
    monkeypatch.setitem(SPOTTERS, "toy", f"{__name__}:ToySpotter")
    config = spot_config("casme2", ["method=toy"])
    spotter = make_spotter(config)
    assert isinstance(spotter, ToySpotter)
    spotter.save(tmp_path / "toy.pt")
    assert isinstance(load_spotter(tmp_path / "toy.pt"), ToySpotter)


def test_an_unregistered_method_is_refused_with_the_choices():
    from mmnet.errors import ConfigError

    with pytest.raises(ConfigError, match=r"Unknown method 'nope'.*flow, learned"):
        spot_config("casme2", ["method=nope"])
