// Restoring the page's run after a reconnect. A fresh server session greets the page with the server's own
// default run (a `state` and frames of it) before it answers the `configure` that brings back the page's run
// (its config, last weights and epoch, sent by session.js on every reconnect). Until that answer the greeting
// is not this page's run: drawing it would wipe the loss chart and flash the default data.
//
// The contract, in the order things happen:
//   begin(id)        the restoring `configure` went out with this id (null: it could not be sent, nothing waits)
//   ignores(state)   true for a `state` message of the greeting while the restore waits
//   pending          true while it waits: frames are not drawn
//   hold(data)       `data` to draw now, or null when it is held back (the restored run's comes last before
//                    the answer, so the newest one held is the one to draw)
//   settle()         the answer arrived: the restore ends and hands back the held data (or null)
//   refused(error)   an `error` reply to the restoring configure ends it: the greeting's run is the page's
//                    now, so its held data comes back to be drawn (null for any other error)
//   cancel()         a newer `configure` went out: nothing is restored any more

/** createRestore(): one page's restore; at most one waits at a time. */
export function createRestore() {
  let id = null; // the restoring configure's id while it waits for its answer
  let held = null; // the newest `data` that came while waiting

  function cancel() {
    id = null;
    held = null;
  }

  function settle() {
    const data = held;
    cancel();
    return data;
  }

  return {
    begin(configureId) {
      id = configureId;
      held = null;
    },
    cancel,
    get pending() {
      return id !== null;
    },
    ignores(message) {
      return id !== null && message.id !== id;
    },
    hold(data) {
      if (id === null) return data;
      held = data;
      return null;
    },
    settle,
    refused(message) {
      return id !== null && message.id === id ? settle() : null;
    },
  };
}
