import pytest

from epfpga import config
from epfpga.cli import main
from epfpga.errors import ConfigError


@pytest.mark.parametrize("name", sorted(config.PRESETS))
def test_preset_round_trips_through_toml(name, tmp_path):
    cfg = config.load(name)
    path = tmp_path / "c.toml"
    path.write_text(config.dumps(cfg))
    assert config.load(str(path)) == cfg


def test_config_show_prints_loadable_toml(tmp_path, capsys):
    assert main(["config", "show", "mnist"]) == 0
    text = capsys.readouterr().out
    for key in ("sizes", "activation", "estimator", "beta", "t1", "t2", "batch", "lanes", "seed"):
        assert any(line.startswith(f"{key} = ") for line in text.splitlines()), key
    path = tmp_path / "shown.toml"
    path.write_text(text)
    assert config.load(str(path)) == config.load("mnist")


def test_file_overrides_a_preset_and_keeps_the_rest(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('preset = "mnist"\nbeta = 0.25\n[fixed]\nweight_bits = 18\n')
    cfg = config.load(str(path))
    assert cfg.beta == 0.25 and cfg.fixed.weight_bits == 18
    assert cfg.sizes == config.load("mnist").sizes and cfg.fixed.state_frac == config.load("mnist").fixed.state_frac


def test_config_is_frozen_and_replace_validates():
    cfg = config.load("digits")
    with pytest.raises(AttributeError):
        cfg.beta = 1.0  # type: ignore[misc]
    with pytest.raises(ConfigError) as err:
        cfg.replace(t2=0)
    assert (err.value.key, err.value.value) == ("t2", 0)
    assert "[1, 100000]" in str(err.value)


def test_ce_keeps_readout_outside_the_neuron_layers():
    cfg = config.Config(sizes=(64, 32, 16, 10), loss="ce", lrs=(0.1, 0.1, 0.1))
    assert cfg.neuron_sizes == (32, 16) and cfg.classes == 10
    with pytest.raises(ConfigError, match="sizes"):
        config.Config(sizes=(64, 10), loss="ce", lrs=(0.1,))


def test_conv_net_shapes_and_weight_layers():
    cfg = config.load("mnist-conv")
    assert cfg.is_conv and cfg.neuron_shapes == ((32, 12, 12), (64, 4, 4), (10,))
    assert cfg.neuron_sizes == (32 * 144, 64 * 16, 10) and len(cfg.lrs) == 3
    ce = cfg.replace(sizes=(784, 10), loss="ce")   # the last conv layer feeds the readout
    assert ce.neuron_shapes == ((32, 12, 12), (64, 4, 4)) and ce.classes == 10


@pytest.mark.parametrize("change, key", [
    (dict(kernels=(5,)), "kernels"),
    (dict(paddings=(0, 0, 0)), "paddings"),
    (dict(channels=(32, 0)), "channels[1]"),
    (dict(input_shape=(1, 28)), "input_shape"),
    (dict(input_shape=(1, 28, 27)), "input_shape"),
    (dict(kernels=(5, 12)), "kernels[1]"),
    (dict(lrs=(0.1, 0.1)), "lrs"),
    (dict(channels=(), kernels=(), paddings=()), "input_shape"),
])
def test_bad_conv_keys_are_named(change, key):
    with pytest.raises(ConfigError) as err:
        config.load("mnist-conv").replace(**change)
    assert err.value.key == key


@pytest.mark.parametrize("change, key", [
    (dict(algorithm="cep", loss="ce", sizes=(64, 32, 10)), "loss"),
    (dict(feedback="mirrored"), "feedback"),
    (dict(feedback="separate", algorithm="bptt"), "feedback"),
])
def test_bad_cep_and_vf_keys_are_named(change, key):
    with pytest.raises(ConfigError) as err:
        config.load("digits").replace(**change)
    assert err.value.key == key


def test_vf_is_fully_connected_only():
    with pytest.raises(ConfigError) as err:
        config.load("mnist-conv").replace(feedback="separate")
    assert err.value.key == "feedback"


def test_the_largest_payload_is_a_power_of_two_from_128_to_1024():
    assert config.from_dict({}).hardware.max_payload == 1024
    assert config.from_dict({"hardware": {"max_payload": 256}}).hardware.max_payload == 256
    for bad, says in ((64, r"must be in \[128, 1024\]"), (2048, "must be in"), (384, "power of two"),
                      ("256", "integer"), (True, "integer")):
        with pytest.raises(ConfigError, match=f"hardware.max_payload.*{says}"):
            config.from_dict({"hardware": {"max_payload": bad}})


def test_only_a_board_with_an_sdram_builds_one():
    assert config.from_dict({"hardware": {"sdram": True}}).hardware.sdram is True
    with pytest.raises(ConfigError, match="the icebreaker has no SDRAM \\(boards with one: ulx3s-85f\\)"):
        config.from_dict({"hardware": {"board": "icebreaker", "sdram": True}})
    with pytest.raises(ConfigError, match="hardware.sdram"):
        config.from_dict({"hardware": {"sdram": "yes"}})


@pytest.mark.parametrize("value", [1, "yes", None])
def test_coded_inputs_is_true_or_false(value):
    assert config.from_dict({"hardware": {"coded_inputs": False}}).hardware.coded_inputs is False
    with pytest.raises(ConfigError, match="hardware.coded_inputs"):
        config.from_dict({"hardware": {"coded_inputs": value}})


def test_label_block_ram_is_on_by_default_and_a_boolean():
    assert config.from_dict({}).hardware.label_block_ram is True
    assert config.from_dict({"hardware": {"label_block_ram": False}}).hardware.label_block_ram is False
    with pytest.raises(ConfigError, match="hardware.label_block_ram.*true or false"):
        config.from_dict({"hardware": {"label_block_ram": "no"}})


def test_pairs_is_on_by_default_and_a_boolean():
    assert config.from_dict({}).hardware.pairs is True
    assert config.from_dict({"hardware": {"pairs": False}}).hardware.pairs is False
    for bad in ("false", 0, 1):
        with pytest.raises(ConfigError, match="hardware.pairs.*true or false"):
            config.from_dict({"hardware": {"pairs": bad}})
