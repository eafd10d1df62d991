"""Each dataset's name for people (explain's captions, the server's model line), made from the dataset registry and
the releases: a dataset added to the registry is named by its release, and none is left out."""

from mmnet.choices import DATASETS, LONG_VIDEO_DATASETS
from mmnet.data.releases import DATASET_NAMES, RELEASES, Release, dataset_names
from mmnet.infer.provenance import dataset_name


def test_every_registry_dataset_has_a_name_for_people():
    missing = [k for k in DATASETS + LONG_VIDEO_DATASETS if DATASET_NAMES.get(k, k) == k]
    assert not missing, (f"{missing}: no name for people; give the dataset its Release in RELEASES (or an entry in "
                         "ALIASES) in src/mmnet/data/releases.py, or, for a lab's own data, in _NAMED_HERE there")


def test_the_names_as_before_and_the_long_videos_by_their_release():
    assert [dataset_name(k) for k in ("casme2", "casme3", "samm", "smic", "mmew", "smic-hs", "smic-vis")] == [
        "CASME II", "CAS(ME)^3", "SAMM", "SMIC", "MMEW", "SMIC (HS)", "SMIC (VIS)"]
    assert dataset_name("composite") == "CASME II, SAMM and SMIC combined"
    assert dataset_name("table") == "a lab's own clips (table dataset)"
    # were 'SAMM (LONG)', 'CAS(ME)^3 (LONG)' and the key 'casme-sq'
    assert dataset_name("samm-long") == "SAMM Long Videos" and dataset_name("casme3-long").startswith("CAS(ME)^3 (")
    assert dataset_name("casme-sq") == dataset_name("casme2-long") == "CAS(ME)^2"
    assert dataset_name("unknown-set") == "unknown-set"


def test_a_dataset_added_to_the_registry_is_named_by_its_release(monkeypatch):
    assert "newset" not in dataset_names(("newset",))  # neither a release nor a name: the test above fails
    monkeypatch.setitem(RELEASES, "newset", Release("NewSet", "its owners", None, ()))
    assert dataset_names(("casme2", "newset")) == {"casme2": "CASME II", "newset": "NewSet"}
