"""The community board: passgate's showcase, built on its public API."""
