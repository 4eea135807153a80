// `<name>_hide=true` in a link hides every control marked `ui-<name>` (the playground's classroom
// switches); `hideText=true` hides the header text. One style element holds the rules.

export function applyHidden(hidden, hideText) {
  let style = document.getElementById('nnplay-hide-style');
  if (!style) {
    style = document.createElement('style');
    style.id = 'nnplay-hide-style';
    document.head.append(style);
  }
  style.textContent = [...hidden].filter((n) => /^[\w-]+$/.test(n)).map((n) => `.ui-${n}{display:none !important}`).join('\n');
  document.body.classList.toggle('hide-text', hideText);
}
