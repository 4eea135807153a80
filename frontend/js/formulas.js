// Features written as formulas over x1 and x2 ("x1*x2", "sqrt(x1^2 + x2^2)"). The server parses and checks
// them (engine/formulas.py) and describes each as GET /api/options describes the registry's features
// (POST /api/feature: name, label, dims, thumbnail), so the page never parses or evaluates a formula itself.
// The store keeps those descriptions; `ensure` fetches the ones a link or a preset brings and emits
// 'formulas:known' when they arrive, so the network redraws their input nodes with their thumbnails.

/** createFormulaStore(hub, options): `isFormula(name)` is true for anything not a registry feature name. */
export function createFormulaStore(hub, options) {
  const registry = new Set(options.features.map((f) => f.name));
  const known = new Map(); // formula -> its description from the server
  const pending = new Set();

  /** The server's description of `text`; rejects with the server's message (it names the column). */
  async function describe(text) {
    const formula = text.trim();
    if (known.has(formula)) return known.get(formula);
    const response = await fetch('api/feature', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ formula }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail?.[0]?.msg ?? `the server answered ${response.status}`);
    known.set(body.name, body);
    return body;
  }

  /** Fetch the descriptions of the formulas among `names` not known yet; 'formulas:known' follows. */
  function ensure(names) {
    const missing = names.filter((n) => !registry.has(n) && !known.has(n) && !pending.has(n));
    for (const name of missing) {
      pending.add(name);
      describe(name).then(() => hub.emit('formulas:known', name), () => {}).finally(() => pending.delete(name));
    }
  }

  return {
    describe, ensure,
    isFormula: (name) => !registry.has(name),
    /** The description of a formula, or a placeholder (no thumbnail yet, fits any data) until it arrives. */
    get: (name) => known.get(name) ?? { name, label: name, url_key: '', dims: 0, thumbnail: null },
    isKnown: (name) => known.has(name),
  };
}
