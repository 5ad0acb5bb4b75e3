"""Telephone audio: the G.711 mu-law codec and WAV helpers."""
