"""redaction: the secrets a caller must never have read out on a crypto exchange's support line
(seed phrases, private keys, one-time codes, card numbers, spoken passwords), found in what a
recogniser heard and taken out. Pure: words (with timings) in, spans and redacted text out.
Used wherever caller words are kept: recordings' transcripts and audio, the call's timeline, the
security brief sent to pagers.

May import: nothing else of ivr; the `mnemonic` package for the BIP-39 word lists.
"""
