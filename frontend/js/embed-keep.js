// Which controls an embed keeps: `controls=play,reset,learningRate` names them (the `ui-<name>` classes of
// the page, with play/step/reset short for playButton/stepButton/resetButton); every other control is
// removed from the page. `<name>_hide=true` still hides a kept one.

export const KEEPABLE = [
  ['play', 'Play / Pause'], ['step', 'Step'], ['reset', 'Reset'], ['epoch', 'Epoch counter'],
  ['learningRate', 'Learning rate'], ['activation', 'Activation'], ['regularization', 'Regularization'],
  ['regularizationRate', 'Regularization rate'], ['optimizer', 'Optimizer'], ['speed', 'Speed'],
  ['loss', 'Loss and accuracy'], ['chart', 'Loss chart'], ['legend', 'Colour legend'],
  ['showTestData', 'Show test data'], ['discretize', 'Discretize output'], ['network', 'Network diagram'],
];
export const DEFAULT_KEEP = ['play', 'reset', 'epoch'];
const ALIASES = { play: 'playButton', step: 'stepButton', reset: 'resetButton' };

export const controlClass = (name) => ALIASES[name] ?? name;

/** The `ui-` names kept: the link's `controls` (or the default), less those the link hides. */
export function keptNames(values, hidden, hasControlsKey) {
  const names = hasControlsKey ? values.controls : DEFAULT_KEEP;
  return names.map(controlClass).filter((n) => !hidden.has(n));
}

/** Remove every `ui-<name>` element under `root` whose name is not in `kept`. */
export function keepOnly(root, kept) {
  const keep = new Set(kept);
  for (const node of [...root.querySelectorAll('[class*="ui-"]')]) {
    const name = [...node.classList].find((c) => c.startsWith('ui-'))?.slice(3);
    if (name && !keep.has(name) && node.isConnected) node.remove();
  }
}
