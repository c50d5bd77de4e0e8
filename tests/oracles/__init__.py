"""Independent oracles: the official ReXNet layout written from the paper's
released code (official_rexnet.py) and timm's names, taps and counts
(timm_rexnet.py)."""
