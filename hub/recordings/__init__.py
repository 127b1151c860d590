"""Meeting recordings: capture (per-track files), the archive, playback and retention."""
