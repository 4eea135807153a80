"""The page's pure functions, run in the browser: frame decoding against the server's encoder, the colour
scale, seeds from playground links, CSV parsing, number formats."""

from __future__ import annotations

import base64

import numpy as np
import pytest

pytestmark = pytest.mark.browser


def run(page, body: str, arg=None):
    """Evaluate an async function body with the page's modules imported as `m.<module>`."""
    return page.evaluate("""async ([body, arg]) => {
        const files = {socket: 'session-socket', colors: 'colors', state: 'state', custom: 'data-custom', ui: 'ui',
                       network: 'network', heatmap: 'output-heatmap', restore: 'session-restore'};
        const m = {};
        for (const [name, file] of Object.entries(files)) m[name] = await import(`/js/${file}.js`);
        return await new Function('m', 'arg', `return (async () => { ${body} })()`)(m, arg);
    }""", [body, arg])


def test_decode_matches_the_server_encoder(page):
    engine = pytest.importorskip("nnplay.engine")
    frames = pytest.importorskip("nnplay.server.live.frames")
    trainer = engine.Trainer({"dataset": "blobs", "hidden": [3, 2], "seed": 5})
    report = trainer.train(2)[-1]
    grid = trainer.grid(density=20, thumb=4)
    message = frames.encode_frame(trainer, report, grid, history=np.array([[1, 0.5, np.nan], [2, 0.4, 0.3]]))
    header, arrays = frames.decode(message)
    decoded = run(page, """
        const bytes = Uint8Array.from(atob(arg), (c) => c.charCodeAt(0));
        const {header, arrays} = m.socket.decode(bytes.buffer);
        const out = {};
        for (const [k, v] of Object.entries(arrays)) {
            const values = Array.from(v, (x) => (Number.isNaN(x) ? null : x));
            out[k] = {values, shape: v.shape, lo: v.lo ?? null, hi: v.hi ?? null};
        }
        return {header, out};
    """, base64.b64encode(message).decode())
    assert decoded["header"]["epoch"] == header["epoch"] == 2
    assert decoded["header"]["sizes"] == [2, 3, 2, 3]
    for name, array in arrays.items():
        got = decoded["out"][name]
        assert got["shape"] == list(array.shape), name
        values = [np.nan if v is None else v for v in got["values"]]
        np.testing.assert_allclose(values, np.asarray(array, dtype=np.float64).ravel(), rtol=1e-6, equal_nan=True,
                                   err_msg=name)
    entry = next(e for e in header["arrays"] if e["name"] == "output")
    assert decoded["out"]["output"]["lo"] == entry["lo"] and decoded["out"]["output"]["hi"] == entry["hi"]


def test_colour_scale_is_the_playgrounds(page):
    result = run(page, """
        const {SHADES, shadeIndex, byteLut, NAN_GREY} = m.colors;
        const lut = byteLut(-1, 1);
        return {n: SHADES.length, first: SHADES[0], mid: SHADES[15], last: SHADES[30],
                idx: [-1, -0.999, 0, 0.999, 2, NaN].map(shadeIndex),
                nan: Array.from(lut.slice(255 * 3, 256 * 3)), grey: NAN_GREY};
    """)
    assert result["n"] == 31
    assert result["first"] == [0xF5, 0x93, 0x22] and result["mid"] == [0xE8, 0xEA, 0xEB]
    assert result["last"] == [0x08, 0x77, 0xBD]
    assert result["idx"] == [0, 0, 15, 30, 30, -1]
    assert result["nan"] == result["grey"]


def test_seeds_numbers_and_widths(page):
    result = run(page, """
        const seed = m.state.seedFromString;
        return {seeds: [seed('0.12345'), seed('0.12345'), seed('42')],
                epochs: [m.ui.formatEpoch(0), m.ui.formatEpoch(1234), m.ui.formatEpoch(1234567)],
                losses: [m.ui.fmt3(0.12345), m.ui.fmt3(null), m.ui.fmt3(1.5e37)],
                widths: [0, -2.5, 5, 50].map(m.network.linkWidth),
                features: await fetch('api/options').then((r) => r.json()).then((o) =>
                    ['x1', 'x2_sq', 'x1_x2', 'sin_x2', 'x1_pow3'].map((n) =>
                        m.network.featureFunction(o.features.find((f) => f.name === n), o.view.extent)(2, 3)))};
    """)
    assert result["seeds"][0] == result["seeds"][1] and 0 <= result["seeds"][0] < 2**32 and result["seeds"][2] == 42
    assert result["epochs"] == ["000,000", "001,234", "1,234,567"]
    assert result["losses"] == ["0.123", "–", "1.50e+37"]
    assert result["widths"] == [1, 5.5, 10, 10]
    # the engine's values at the centre of the thumbnail cell holding (2, 3): (1.8, 3.0)
    assert result["features"] == pytest.approx([1.8, 9, 5.4, np.sin(3), 1.8**3 / 36], abs=1e-4)


def test_csv_parsing(page):
    result = run(page, """
        const {view} = await fetch('api/options').then((r) => r.json());
        const opts = {problem: 'classification', maxPoints: 5000, maxClasses: 6, extent: view.extent};
        return {
            binary: m.custom.parseCsv('x1,x2,label\\n1,2,1\\n-1,-2,-1\\n', opts),
            zeroOne: m.custom.parseCsv('1,2,0\\n3,4,1\\n', opts),
            multi: m.custom.parseCsv('1,2,0\\n3,4,2\\n0,0,7\\n', opts),
            bad: m.custom.parseCsv('1;2;1\\n1,2\\nx,1,1\\n', opts),
            regression: m.custom.parseCsv('1,2,0.25\\n', {...opts, problem: 'regression'}),
        };
    """)
    assert result["binary"]["points"] == [[1, 2, 1], [-1, -2, -1]] and result["binary"]["binary"]
    assert result["zeroOne"]["points"] == [[1, 2, -1], [3, 4, 1]]
    assert result["multi"]["points"] == [[1, 2, 0], [3, 4, 2]] and not result["multi"]["binary"]
    assert result["multi"]["errors"] == ["row 3: label 7 must be +1/−1 or a class 0 to 5"]
    assert result["bad"]["points"] == [[1, 2, 1]]
    assert result["bad"]["errors"] == ["row 2: expected 3 values x1,x2,label, got 2",
                                       'row 3: x1 "x" is not a number']
    assert result["regression"]["points"] == [[1, 2, 0.25]]


def test_a_restore_holds_the_greeting_back_until_its_answer(page):
    """After a reconnect the server's greeting (its default run) is not shown; the restored run's data, the
    last to come before the answer, is drawn with it; a refusal or a newer configure ends the wait."""
    result = run(page, """
        const r = m.restore.createRestore();
        const log = {idle: [r.pending, r.ignores({id: 1}), r.hold('d0')]};
        r.begin(7);
        log.waiting = [r.pending, r.ignores({id: undefined}), r.ignores({id: 3}), r.ignores({id: 7}),
                       r.hold('greeting'), r.hold('restored')];
        log.answer = [r.settle(), r.pending, r.ignores({id: 3})];
        r.begin(8);
        r.hold('greeting');
        log.refused = [r.refused({id: 2}), r.pending, r.refused({id: 8}), r.pending];
        r.begin(9);
        r.hold('greeting');
        r.cancel();
        log.cancelled = [r.pending, r.hold('next'), r.settle()];
        r.begin(null);
        log.unsent = r.pending;
        return log;
    """)
    assert result["idle"] == [False, False, "d0"]
    assert result["waiting"] == [True, True, True, False, None, None]
    assert result["answer"] == ["restored", False, False]
    assert result["refused"] == [None, True, "greeting", False]
    assert result["cancelled"] == [False, "next", None]
    assert result["unsent"] is False
