"""Background jobs: things Stripe does a little later (refund settlement,
disputes) and the periodic sweep that expires checkout sessions."""

import heapq
import itertools
import threading
import time


class Scheduler:
    def __init__(self, run_job, sweep, sweep_interval):
        self._run_job = run_job  # runs a job under the state lock and saves
        self._sweep = sweep
        self._sweep_interval = sweep_interval
        self._jobs = []
        self._seq = itertools.count()
        self._running = 0
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="emulator-scheduler", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def later(self, delay, fn, counted=True):
        """Run `fn` in `delay` seconds. Uncounted jobs are housekeeping that
        `pending()` (and so /_emulator/webhooks/wait) does not wait for."""
        with self._cond:
            heapq.heappush(self._jobs, (time.monotonic() + delay, next(self._seq), fn, counted))
            self._cond.notify_all()

    def clear(self):
        with self._cond:
            self._jobs.clear()

    def pending(self):
        """Jobs queued or running (the periodic sweep is not counted)."""
        with self._cond:
            return sum(1 for job in self._jobs if job[3]) + self._running

    def _loop(self):
        next_sweep = time.monotonic()
        while True:
            with self._cond:
                if self._stopped:
                    return
                now = time.monotonic()
                due = self._jobs[0][0] if self._jobs else float("inf")
                wait = min(due, next_sweep) - now
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                job = None
                if self._jobs and self._jobs[0][0] <= now:
                    job = heapq.heappop(self._jobs)[2]
                    self._running += 1
            if job is not None:
                try:
                    self._run_job(job)
                finally:
                    with self._cond:
                        self._running -= 1
                        self._cond.notify_all()
            if time.monotonic() >= next_sweep:
                self._run_job(self._sweep)
                next_sweep = time.monotonic() + self._sweep_interval
