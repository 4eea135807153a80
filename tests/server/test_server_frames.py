"""The binary layout of docs/protocol.md: envelope, alignment, quantisation, frame contents and size."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from server_helpers import C2

from nnplay.engine import Trainer
from nnplay.server.live.frames import (
    NAN_CODE, array_entry, decode, dequantize, encode_data, encode_frame, pack, quantize,
)


def test_pack_and_decode_round_trip_with_8_byte_alignment():
    arrays = [("a", np.arange(5, dtype=np.uint8), (0.0, 1.0)),
              ("b", np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3), None),
              ("c", np.array([7, -1], dtype=np.int32), None)]
    message = pack({"type": "frame", "epoch": 3}, arrays)
    assert message[:4] == b"NNP1"
    (length,) = struct.unpack_from("<I", message, 4)
    assert (8 + length) % 8 == 0
    header = json.loads(message[8: 8 + length])  # spaces pad the header; JSON ignores them
    assert header["epoch"] == 3
    for entry in header["arrays"]:
        assert entry["offset"] % 8 == 0 and entry["offset"] >= 8 + length
    decoded_header, decoded = decode(message)
    assert decoded_header == header
    for name, array, _ in arrays:
        np.testing.assert_array_equal(decoded[name], array)
    assert array_entry(header, "a")["lo"] == 0.0 and array_entry(header, "a")["hi"] == 1.0
    assert "lo" not in array_entry(header, "b")


def test_pack_places_arrays_after_headers_of_every_length():
    """The offsets in the header count from the start of the message, so they depend on the header's own
    length (which they are part of): for every header length across several 8-byte steps, and labels
    that JSON must escape, each array lies where its entry says, the header pads to it with spaces and the
    arrays' gaps with zeros."""
    arrays = [("output", np.arange(10_000, dtype=np.uint32).astype(np.uint8), (-1.0, 1.0)),
              ("weights", np.linspace(-1, 1, 13, dtype=np.float32), None),
              ("history", np.ones((3, 3), dtype=np.float32), None)]
    for size in range(40):
        header = {"type": "frame", "label": 'é"\\n' * (size % 5) + "x" * size, "epoch": 10 ** size}
        message = pack(header, arrays)
        (length,) = struct.unpack_from("<I", message, 4)
        decoded_header, decoded = decode(message)
        assert {k: decoded_header[k] for k in header} == header
        entries = decoded_header["arrays"]
        assert entries[0]["offset"] == 8 + length and message[8 + length - 1:8 + length] in (b" ", b"}")
        assert len(message) == entries[-1]["offset"] + 40  # 36 bytes of history, padded to 40 with zeros
        assert message[entries[1]["offset"] + 52:entries[1]["offset"] + 56] == bytes(4)
        for name, array, _ in arrays:
            np.testing.assert_array_equal(decoded[name], array)


def test_decode_refuses_other_bytes():
    with pytest.raises(ValueError, match="magic"):
        decode(b"XXXX\x00\x00\x00\x00")


def test_quantize_maps_lo_hi_to_0_254_and_nan_to_255():
    values = np.array([-1.0, 0.0, 1.0, np.nan, 5.0, -np.inf], dtype=np.float32)
    codes, lo, hi = quantize(values, -1.0, 1.0)
    assert codes.tolist() == [0, 127, 254, NAN_CODE, 254, 0]
    back = dequantize(codes, lo, hi)
    assert np.isnan(back[3]) and back[0] == -1.0 and back[2] == pytest.approx(1.0)
    codes, lo, hi = quantize(np.array([2.0, 4.0, np.nan]))  # the array's own finite range
    assert (lo, hi) == (2.0, 4.0) and codes.tolist() == [0, 254, NAN_CODE]
    codes, lo, hi = quantize(np.array([3.0, 3.0]))  # a flat array
    assert codes.tolist() == [0, 0] and lo == hi == 3.0
    codes, lo, hi = quantize(np.array([3.0, np.inf, 5.0, -np.inf, 4.0]))  # the range of the finite values only
    assert (lo, hi) == (3.0, 5.0) and codes.tolist() == [0, 254, 254, 0, 127]
    codes, lo, hi = quantize(np.array([np.nan, np.inf]))  # nothing finite
    assert (lo, hi) == (0.0, 0.0) and codes.tolist() == [NAN_CODE, 0]
    assert quantize(np.zeros(0))[0].size == 0


def test_quantisation_error_is_below_half_a_level():
    values = np.random.default_rng(0).uniform(-1, 1, 1000).astype(np.float32)
    codes, lo, hi = quantize(values, -1.0, 1.0)
    assert np.abs(dequantize(codes, lo, hi) - values).max() <= (2 / 254) / 2 + 1e-6


def frame_of(config, **kwargs):
    trainer = Trainer(config)
    report = trainer.step_epoch(confusion=True)
    grid = trainer.grid(density=kwargs.pop("density", 100), thumb=kwargs.pop("thumb", 10))
    return trainer, report, grid, encode_frame(trainer, report, grid, **kwargs)


def test_a_c2_frame_at_default_density_is_at_most_20_kb():
    history = np.zeros((30, 3), dtype=np.float32)  # a frame after 30 epochs at speed "max"
    trainer, report, grid, message = frame_of(C2, playing=True, epochs_per_second=900.0, history=history)
    assert len(message) <= 20_000
    header, arrays = decode(message)
    assert arrays["output"].shape == (100, 100) and arrays["output"].dtype == np.uint8
    assert arrays["neurons"].shape == (48, 10, 10)
    n_params = sum(np.size(layer["W"]) + np.size(layer["b"]) for layer in trainer.get_weights())
    assert arrays["weights"].shape == (n_params,)
    assert arrays["grad_norms"].shape == arrays["weight_norms"].shape == (7,)
    assert arrays["history"].shape == (30, 3)
    assert header["epoch"] == 1 and header["playing"] is True and header["sizes"] == [7, 8, 8, 8, 8, 8, 8, 1]
    assert header["train_loss"] == report.train_loss and header["epochs_per_second"] == 900.0
    entry = array_entry(header, "output")
    assert (entry["lo"], entry["hi"]) == (-1.0, 1.0)
    np.testing.assert_allclose(dequantize(arrays["output"], -1.0, 1.0), grid.values, atol=1 / 254 + 1e-6)


def test_frame_weights_are_pytorch_layout_w_then_b_per_layer():
    trainer, _, _, message = frame_of({"dataset": "xor", "hidden": [3], "seed": 2})
    _, arrays = decode(message)
    expected = np.concatenate([np.concatenate([np.ravel(layer["W"]), layer["b"]]) for layer in trainer.get_weights()])
    np.testing.assert_allclose(arrays["weights"], expected.astype(np.float32))


def test_extras_choose_the_arrays():
    _, _, _, message = frame_of({"dataset": "xor", "hidden": [3], "seed": 2}, extras=["weights"])
    _, arrays = decode(message)
    assert set(arrays) == {"output", "weights"}


def test_multiclass_frames_carry_classes_and_the_winning_probability():
    _, _, grid, message = frame_of({"dataset": "blobs", "hidden": [4], "seed": 3}, density=40)
    header, arrays = decode(message)
    assert arrays["classes"].shape == (40, 40) and arrays["classes"].max() <= 2
    np.testing.assert_array_equal(arrays["classes"], grid.classes)
    entry = array_entry(header, "output")
    assert (entry["lo"], entry["hi"]) == (0.0, 1.0)


def test_regression_grids_use_their_own_range_and_1d_data_a_float_curve():
    _, _, grid, message = frame_of({"problem": "regression", "dataset": "plane", "hidden": [2], "seed": 3})
    header, arrays = decode(message)
    entry = array_entry(header, "output")
    assert entry["lo"] == pytest.approx(float(grid.values.min()))
    assert entry["hi"] == pytest.approx(float(grid.values.max()))
    _, _, grid, message = frame_of({"problem": "regression", "dataset": "poly_demo", "features": ["x1"], "hidden": [3],
                                    "seed": 3})
    header, arrays = decode(message)
    assert arrays["output"].dtype == np.float32 and arrays["output"].shape == (100,)
    assert arrays["neurons"].shape == (3, 10)


def test_a_network_without_hidden_layers_sends_an_empty_neurons_array():
    _, _, _, message = frame_of({"dataset": "gauss", "hidden": [], "seed": 3})
    assert decode(message)[1]["neurons"].shape == (0, 10, 10)


def test_data_messages_carry_the_points():
    trainer = Trainer({"dataset": "poly_demo", "problem": "regression", "features": ["x1"], "seed": 1})
    header, arrays = decode(encode_data(trainer))
    assert header["type"] == "data" and header["dims"] == 1 and header["x_units"] == [10.0, 60.0]
    np.testing.assert_allclose(arrays["train"], np.asarray(trainer.data.rows("train"), dtype=np.float32))
    assert arrays["test"].shape == (trainer.data.n_test, 3)
