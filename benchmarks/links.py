"""How long a link is that carries custom data, and how long the same points would be as JSON.

Starts ``nnplay serve`` on a free port (its store in a temporary folder), opens the page in Debian's Chromium
(Playwright, headless) with the custom dataset, sets N points through the page's own state (hand-drawn:
x1, x2 on the 0.01 grid a click lands on, labels ±1; or a CSV's 7 significant digits) and reads the page's
link back: the whole link, its ``points=`` part, and the points as JSON. Every point set is checked to come
back exactly from the link (state-points.js is lossless).

Lengths do not depend on the machine's load: the figures are exact for a default setup and this seed.

    python benchmarks/links.py [--points 50 200 500 5000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

from harness import Server

CHROMIUM = "/usr/bin/chromium"

MEASURE = """async ([n, kind]) => {
  const points = await import('/js/state-points.js');
  let seed = 3;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const coordinate = () => (kind === 'drawn' ? +(random() * 12 - 6).toFixed(2) : +(random() * 12 - 6).toPrecision(7));
  const set = Array.from({ length: n }, () => [coordinate(), coordinate(), random() < 0.5 ? 1 : -1]);
  window.nnplay.state.setCustomPoints(set, { binary: true });
  const text = location.hash.split('&points=')[1];
  const back = points.decodePoints(text).points;
  return { link: location.href.length, points: text.length, json: JSON.stringify(set).length,
           exact: JSON.stringify(back) === JSON.stringify(set) };
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[50, 200, 500, 5000])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as data, Server(env={"NNPLAY_DATA_DIR": data}) as server:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.port}/#dataset=custom")
            page.wait_for_function("document.body.dataset.ready === 'true'")
            for kind in ("drawn", "csv"):
                for n in args.points:
                    rows.append({"kind": kind, "n": n, **page.evaluate(MEASURE, [n, kind])})
            browser.close()
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'data':>6} {'points':>6} {'whole link':>11} {'points=':>8} {'as JSON':>8}  exact")
    for row in rows:
        sizes = f"{row['link']:>11,} {row['points']:>8,} {row['json']:>8,}"
        print(f"{row['kind']:>6} {row['n']:>6} {sizes}  {row['exact']}")
    sys.exit(0 if all(row["exact"] for row in rows) else 1)


if __name__ == "__main__":
    main()
