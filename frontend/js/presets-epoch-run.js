// "Train N epochs" (a lesson's suggested run), animated: the session's `step` trains at full speed and would
// jump to the result, so the run is sent as small steps of speed / fps epochs, each when the last is done
// and due at the session's pace. The class watches the boundary form, and the count ends exactly at N, past
// the server's one-step limit if need be. Any command, a new setup or a stopped run (diverged, early
// stopping) ends it.

/** createEpochRun(hub, state, session): listens for 'train-epochs' {n} on the hub. */
export function createEpochRun(hub, state, session) {
  const maxStep = state.options.server_limits.max_step;
  const fps = state.options.view.fps;
  let run = null; // {target, waiting (the id of the step in flight), due (ms), timer}

  function stop() {
    if (run) clearTimeout(run.timer);
    run = null;
    hub.emit('epoch-run', false);
  }

  function next() {
    const left = run.target - session.epoch;
    if (left <= 0) return stop();
    const speed = state.values.speed === 'max' ? Infinity : state.values.speed;
    const chunk = Math.min(left, maxStep, Number.isFinite(speed) ? Math.max(1, Math.round(speed / fps)) : maxStep);
    run.waiting = session.send('step', { n: chunk });
    if (run.waiting === null) return stop(); // offline
    run.due = performance.now() + (Number.isFinite(speed) ? (1000 * chunk) / speed : 0);
  }

  hub.on('train-epochs', ({ n }) => {
    stop();
    hub.emit('command', { type: 'pause' });
    run = { target: session.epoch + n, waiting: null, due: 0, timer: null };
    hub.emit('epoch-run', true);
    next();
  });
  hub.on('state', (message) => {
    if (!run || message.id !== run.waiting) return;
    if (message.status !== 'ok') return stop();
    run.timer = setTimeout(() => run && next(), Math.max(0, run.due - performance.now()));
  });
  hub.on('command', ({ type }) => type !== 'pause' && stop());
  hub.on('epoch-run:stop', stop);
  hub.on('state:change', ({ changed }) => [...changed].some((k) => k !== 'speed' && k !== 'density') && stop());

  return {
    get running() {
      return run !== null;
    },
    stop,
  };
}
