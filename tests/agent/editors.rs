//! Real editors set up the way `editors/` tells users to: Helix with `editors/helix`'s script and key bindings,
//! Emacs with `editors/emacs/openhands.el`, each against the real `openhands-lsp` and a scripted LLM.

mod emacs;
mod helix_setup;
mod tmux;
