;;; openhands-agent-shell.el --- OpenHands (openhands-lsp acp) as an agent-shell agent  -*- lexical-binding: t; -*-

;;; Commentary:
;; Emacs' agent-shell (xenodium/agent-shell) hosts ACP agents; this adds `openhands-lsp acp' to them.
;; Load it after agent-shell, then M-x openhands-agent-shell.  Not exercised by the test suite (agent-shell is
;; not packaged for Debian); the protocol it speaks is (tests/agent/acp.rs).

;;; Code:

(require 'agent-shell)

(defcustom openhands-agent-shell-command '("openhands-lsp" "acp")
  "Command and arguments that start OpenHands as an ACP agent."
  :type '(repeat string)
  :group 'agent-shell)

(defun openhands-agent-shell-config ()
  "The agent-shell configuration of OpenHands."
  (agent-shell-make-agent-config
   :identifier 'openhands
   :mode-line-name "OpenHands"
   :buffer-name "OpenHands"
   :shell-prompt "OpenHands> "
   :shell-prompt-regexp "OpenHands> "
   :client-maker (lambda (buffer)
                   (agent-shell--make-acp-client
                    :command (car openhands-agent-shell-command)
                    :command-params (cdr openhands-agent-shell-command)
                    :environment-variables nil
                    :context-buffer buffer))
   :install-instructions "cargo install --path . (openhands-lsp), then put openhands-lsp on PATH"))

;;;###autoload
(defun openhands-agent-shell ()
  "Start an OpenHands agent shell."
  (interactive)
  (agent-shell-start :config (openhands-agent-shell-config)))

(provide 'openhands-agent-shell)
;;; openhands-agent-shell.el ends here
