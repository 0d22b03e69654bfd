"""A progress line for long jobs: ``progress(done, total)`` callbacks drawn on a stream."""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ProgressBar:
    """Rows done, percent, rate and time left: redrawn in place on a terminal (at most every
    0.2 s), one line every 10 s otherwise (logs). ``close()`` draws the final state."""

    WIDTH = 30

    def __init__(self, stream=None, unit: str = "rows"):
        self.stream = stream or sys.stderr
        self.unit = unit
        self.terminal = self.stream.isatty()
        self.interval_s = 0.2 if self.terminal else 10.0
        self.started: float | None = None
        self.first_done = 0
        self.last_drawn = 0.0
        self.state: tuple[int, int | None] = (0, None)

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if self.started is None:
            self.started, self.first_done = now, done
            if done:
                print(f"resuming: {done:,} {self.unit} were done by an earlier run",
                      file=self.stream, flush=True)
        self.state = (done, total)
        if now - self.last_drawn >= self.interval_s:
            self.last_drawn = now
            self._draw(now)

    def close(self) -> None:
        if self.started is not None:
            self._draw(time.monotonic(), final=True)

    def _draw(self, now: float, final: bool = False) -> None:
        done, total = self.state
        if final and total is not None:
            total = done  # a line count can overestimate the rows of a CSV file
        elapsed = max(now - self.started, 1e-9)
        rate = (done - self.first_done) / elapsed
        text = f"{done:,} {self.unit}  {rate:,.0f} {self.unit}/s  {_duration(elapsed)}"
        if total:
            fraction = min(done / total, 1.0)
            filled = int(fraction * self.WIDTH)
            left = f"  ETA {_duration((total - done) / rate)}" if rate > 0 and not final else ""
            text = (f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {fraction:6.1%}  "
                    f"{done:,}/{total:,} {self.unit}  {rate:,.0f} {self.unit}/s{left}")
        end = "\n" if final or not self.terminal else ""
        print(("\r" if self.terminal else "") + text, end=end, file=self.stream, flush=True)
