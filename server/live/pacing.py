"""The small clocks and queues of a live session (server/live/session.py).

* :class:`Pace` — when the next epoch is due at ``speed`` epochs/s, when the next frame is due at ``fps``
  (a token bucket: a frame after every epoch while epochs are slower than fps, never more than fps), and
  the measured epochs per second;
* :class:`Mailbox` — the one frame slot between the engine worker and the sender. A newer frame replaces
  an unsent one, so a slow client never makes a backlog; the per-epoch history rows of a replaced frame are
  carried into the frame that replaces it.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from itertools import takewhile
from typing import Any, Callable, Optional

import numpy as np

HISTORY_ROWS = 2000  # the most history rows one frame carries
CATCH_UP = 0.25  # seconds of missed epochs a paced session may make up; older ones are dropped
RATE_WINDOW = 1.0  # seconds over which epochs_per_second is measured


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (nested) replaced by None, for strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class Pace:
    """Epoch and frame timing of one session (times from ``time.perf_counter``)."""

    def __init__(self) -> None:
        self.next_epoch_at = 0.0
        self._tokens, self._clock = 1.0, 0.0
        self._samples: deque = deque()  # (time, epoch) over the last RATE_WINDOW seconds

    def start(self, now: float) -> None:
        """Training (re)starts now: an epoch and a frame are due at once."""
        self.next_epoch_at, self._tokens, self._clock = now, 1.0, now

    def epoch_due(self, now: float) -> bool:
        return now >= self.next_epoch_at

    def epoch_done(self, now: float, speed: float) -> None:
        """Schedule the next epoch 1/speed after this one, making up at most CATCH_UP seconds of lag, on the
        common clock: the nearest multiple of 1/speed (seconds of ``perf_counter``). Sessions at one speed
        are then due at the same instants whenever they started, so a worker steps them in one stacked
        computation rather than one per phase (C2, 16 sessions in a worker: 5 steps per 3 periods before)."""
        due = max(self.next_epoch_at + 1.0 / speed, now - CATCH_UP)
        self.next_epoch_at = round(due * speed) / speed

    def frame_due(self, now: float, fps: float) -> bool:
        self._tokens = min(2.0, self._tokens + (now - self._clock) * fps)
        self._clock = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def sample(self, now: float, epoch: int) -> None:
        self._samples.append((now, epoch))
        while len(self._samples) > 2 and self._samples[0][0] < now - RATE_WINDOW:
            self._samples.popleft()

    def epochs_per_second(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, e0), (t1, e1) = self._samples[0], self._samples[-1]
        return (e1 - e0) / (t1 - t0) if t1 > t0 else 0.0

    def clear(self) -> None:
        self._samples.clear()


class Mailbox:
    """One frame slot: ``put`` from an engine worker, ``take`` from the event loop (thread-safe, no waiting).

    The lock only guards the slot and the rows; a frame is encoded outside it, so ``take`` on the event
    loop never waits for an encoder. Rows (epoch, train loss, test loss) are kept for the last
    ``HISTORY_ROWS`` epochs only, so a session's memory does not grow with its epochs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: Optional[bytes] = None
        self._frame_epoch = -1
        self._taken_epoch = -1  # history rows up to here have reached the client
        self._rows: deque = deque(maxlen=HISTORY_ROWS)
        self.replaced = 0

    def add_row(self, epoch: int, train_loss: Optional[float], test_loss: Optional[float]) -> None:
        """One epoch's losses for the history extra."""
        with self._lock:
            self._rows.append((epoch, np.nan if train_loss is None else train_loss,
                               np.nan if test_loss is None else test_loss))

    def put(self, encode: Callable[[np.ndarray], bytes], epoch: int) -> None:
        """Store ``encode(history rows not yet received)`` as the frame of ``epoch``, replacing an unsent one.
        If the client takes a frame while this one is being encoded, it is encoded again with fewer rows."""
        while True:
            with self._lock:
                taken = self._taken_epoch
                # rows are in epoch order: walk back from the newest, not over all HISTORY_ROWS each frame
                rows = list(takewhile(lambda row: row[0] > taken, reversed(self._rows)))[::-1]
            frame = encode(np.array(rows, dtype=np.float32).reshape(-1, 3))
            with self._lock:
                if self._taken_epoch == taken:
                    self.replaced += self._frame is not None
                    self._frame, self._frame_epoch = frame, epoch
                    return

    @property
    def has_frame(self) -> bool:
        return self._frame is not None

    def take(self) -> Optional[bytes]:
        with self._lock:
            frame, self._frame = self._frame, None
            if frame is not None:
                self._taken_epoch = self._frame_epoch
            return frame

    def restart(self) -> None:
        """Forget the unsent frame and the history (a new network, or new weights)."""
        with self._lock:
            self._frame, self._taken_epoch = None, -1
            self._rows.clear()
