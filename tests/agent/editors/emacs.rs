//! Emacs (placeholder while the helix test is written).
