"""The board's pages driven by headless Chromium against ``passgate serve`` as a process."""
