//! Real editors set up the way `editors/` tells users to: VS Code (code-server) with the packaged extension,
//! Neovim 0.7 and 0.11 with the plugin, Helix with `editors/helix`'s script and key bindings, Emacs with
//! `editors/emacs/openhands.el`, each against the real `openhands-lsp` and a scripted LLM.

mod emacs;
mod helix_setup;
mod nvim;
mod nvim_diagnostics;
pub(crate) mod tmux;
mod vscode;
