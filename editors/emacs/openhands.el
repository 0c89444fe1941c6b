;;; openhands.el --- OpenHands agent tasks via Eglot  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The openhands-lsp authors

;; Author: The openhands-lsp authors
;; Version: 0.1.0
;; Package-Requires: ((emacs "29.1"))
;; Keywords: tools, convenience, processes
;; SPDX-License-Identifier: MIT

;; This file is not part of GNU Emacs.

;;; Commentary:

;; This file exists so that Emacs users can drive the openhands-lsp
;; agent (an LSP server) with commands instead of raw
;; `workspace/executeCommand' requests, and get its edits without being
;; asked about each one.
;;
;; Eglot connects to `openhands-lsp' in the major modes listed in
;; `openhands-modes' (or in the current buffer with `openhands-start').
;; Then:
;;
;;   M-x openhands-task        ask the agent to do something (with an
;;                             active region, the file and lines go
;;                             with the prompt)
;;   M-x openhands-reply       answer the agent's question
;;   M-x openhands-stop        cancel the running task
;;   M-x openhands-status      the tasks and their states
;;   M-x openhands-transcript  open the conversation's Markdown transcript
;;   M-x openhands-log         the agent's messages, commands and diffs
;;
;; Approvals (the agent wants to delete files, push, install...) are
;; asked with `openhands-approval-function'.  The agent's edits to open
;; buffers are applied without a question and left unsaved, unless
;; `openhands-confirm-edits' is set; other servers' edits keep Eglot's
;; setting.  Progress shows in the mode line (Eglot's own indicator).
;;
;; Eglot manages a buffer with one server: in the modes you give to
;; OpenHands, openhands-lsp takes the place of that mode's usual Eglot
;; server.  See editors/emacs/README.md.

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'jsonrpc)
(require 'project)
(require 'rmc)
(require 'subr-x)
(require 'url-parse)
(require 'url-util)

(defgroup openhands nil
  "The OpenHands coding agent, through its language server."
  :group 'tools
  :prefix "openhands-")

(defcustom openhands-program '("openhands-lsp")
  "The command that starts the OpenHands language server, and its arguments."
  :type '(repeat string))

(defcustom openhands-modes nil
  "Major modes whose buffers Eglot connects to OpenHands.
This takes effect when `openhands-mode' is on.  In these modes
openhands-lsp replaces the mode's usual Eglot server, since Eglot
manages a buffer with one server."
  :type '(repeat (symbol :tag "Major mode"))
  :set (lambda (symbol value)
         (set-default symbol value)
         (when (bound-and-true-p openhands-mode)
           (openhands-mode 1))))

(defcustom openhands-initialization-options nil
  "Settings sent to the server as `initializationOptions.openhands', a plist.
For example (:approvals \"always\" :maxIterations 50); see docs/lsp.md."
  :type 'plist)

(defcustom openhands-confirm-edits nil
  "Whether to ask before applying the agent's edits to buffers.
nil (the default) applies them at once and leaves the buffers unsaved;
t asks with a summary of the files first.  Edits proposed by other
servers follow Eglot's `eglot-confirm-server-edits' either way."
  :type 'boolean)

(defcustom openhands-approval-function #'openhands-approval-read-multiple-choice
  "How the agent's approval questions are asked.
Called with the server's MESSAGE (what the agent wants to run and why)
and the list of answer TITLES; returns one of the titles, or nil to
reject.  `openhands-approval-read-multiple-choice' answers with one key,
`openhands-approval-completing-read' in the minibuffer with completion."
  :type '(choice (function-item openhands-approval-read-multiple-choice)
                 (function-item openhands-approval-completing-read)
                 function))

(defvar openhands-message-functions nil
  "Abnormal hook run with (TYPE TEXT) for each message OpenHands shows.
TYPE is the LSP message type: 1 error, 2 warning, 3 info, 4 log.")

(defvar openhands--prompt-history nil)
(defvar openhands--reply-history nil)

(defclass openhands-server (eglot-lsp-server) ()
          "An Eglot connection to openhands-lsp.")

;;;; Starting the server

(defun openhands--contact (&optional _interactive _project)
  "The Eglot contact of the OpenHands server."
  (cons 'openhands-server
        (append openhands-program
                (when openhands-initialization-options
                  (list :initializationOptions
                        (list :openhands openhands-initialization-options))))))

(defun openhands--programs-entry ()
  "The entry `openhands-mode' puts in `eglot-server-programs'."
  (cons openhands-modes #'openhands--contact))

;;;###autoload
(define-minor-mode openhands-mode
  "Connect Eglot to OpenHands in the major modes of `openhands-modes'.
Then \\[eglot] (or `eglot-ensure' in a mode hook) starts openhands-lsp in
those buffers."
  :global t
  :group 'openhands
  (setq eglot-server-programs
        (cl-remove-if (lambda (entry) (eq (cdr entry) #'openhands--contact))
                      eglot-server-programs))
  (when (and openhands-mode openhands-modes)
    (push (openhands--programs-entry) eglot-server-programs)))

;;;###autoload
(defun openhands-start ()
  "Connect the current buffer to OpenHands through Eglot.
This buffer's major mode then uses openhands-lsp in this project
instead of its usual Eglot server, until the connection is shut down."
  (interactive)
  (let ((eglot-server-programs (cons (cons major-mode #'openhands--contact)
                                     eglot-server-programs)))
    (apply #'eglot (eglot--guess-contact))))

(defun openhands--servers ()
  "The live OpenHands connections, those of the current project first."
  (let* ((project (project-current))
         (here (and project (gethash project eglot--servers-by-project)))
         (all (apply #'append (hash-table-values eglot--servers-by-project))))
    (cl-remove-if-not (lambda (s) (and (cl-typep s 'openhands-server)
                                       (jsonrpc-running-p s)))
                      (cl-remove-duplicates (append here all)
                                            :from-end t))))

(defun openhands--server ()
  "The OpenHands connection for the current buffer.
Signal an error saying how to start one when there is none."
  (let ((current (eglot-current-server)))
    (if (cl-typep current 'openhands-server)
        current
      (or (car (openhands--servers))
          (user-error "%s" (concat "OpenHands is not running here: "
                                   "M-x openhands-start in a file of the "
                                   "project (or add its mode to "
                                   "`openhands-modes' and turn on "
                                   "`openhands-mode')"))))))

(defun openhands--send-changes (server)
  "Tell SERVER now what changed in the buffers it follows.
Eglot sends them once Emacs is idle, which may come late while the
user types; the server reads them before a task starts, and confirms
an edit it made by them."
  (dolist (buffer (eglot--managed-buffers server))
    (when (buffer-live-p buffer)
      (with-current-buffer buffer
        (eglot--signal-textDocument/didChange)))))

(defun openhands--command (command arguments &optional on-result)
  "Run the server's COMMAND with ARGUMENTS (a vector).
Call ON-RESULT with its result."
  (let ((server (openhands--server)))
    (openhands--send-changes server)
    (jsonrpc-async-request
     server :workspace/executeCommand
     (list :command command :arguments arguments)
     :success-fn (lambda (result) (when on-result (funcall on-result result)))
     :error-fn (lambda (error)
                 (openhands--show
                  1 (format "OpenHands: %s" (plist-get error :message))))
     :timeout 30)))

(defun openhands--show (type text)
  "Show TEXT, an OpenHands message of LSP message TYPE.
Also log it and run `openhands-message-functions'."
  (openhands--log (format "%s" text))
  (run-hook-with-args 'openhands-message-functions type text)
  (message "%s" (if (<= type 1) (propertize text 'face 'error) text)))

;;;; Commands

(defun openhands--document-uri ()
  "The URI of the current buffer's file, when OpenHands follows this buffer."
  (when (and buffer-file-name
             (cl-typep (eglot-current-server) 'openhands-server))
    (plist-get (eglot--TextDocumentIdentifier) :uri)))

;;;###autoload
(defun openhands-task (prompt &optional beg end)
  "Ask OpenHands to do PROMPT.
Interactively, with an active region, BEG and END are the region, and
the file and its lines go with the prompt; otherwise the current file
does, when OpenHands follows this buffer."
  (interactive
   (list (read-string (if (use-region-p)
                          "OpenHands task (on the region): "
                        "OpenHands task: ")
                      nil 'openhands--prompt-history)
         (and (use-region-p) (region-beginning))
         (and (use-region-p) (region-end))))
  (when (string-blank-p prompt)
    (user-error "Say what OpenHands should do"))
  (let* ((uri (openhands--document-uri))
         (argument
          (cond ((and uri beg end)
                 (list :prompt prompt :uri uri
                       :range (list :start (eglot--pos-to-lsp-position beg)
                                    :end (eglot--pos-to-lsp-position end))))
                (uri (list :prompt prompt :uri uri))
                (t prompt))))
    (openhands--command
     "openhands.task.start" (vector argument)
     (lambda (result)
       (openhands--show
        3 (format "OpenHands is on it (task %s)" (plist-get result :taskId)))))))

;;;###autoload
(defun openhands-reply (text)
  "Answer the last task's question with TEXT; the task continues."
  (interactive
   (list (read-string "Reply to OpenHands: " nil 'openhands--reply-history)))
  (openhands--command
   "openhands.task.reply" (vector text)
   (lambda (result)
     (openhands--show
      3 (format "OpenHands continues (task %s)" (plist-get result :taskId))))))

;;;###autoload
(defun openhands-stop ()
  "Cancel the running OpenHands task."
  (interactive)
  (openhands--command
   "openhands.task.cancel" []
   (lambda (result)
     (openhands--show
      3 (format "OpenHands: cancelling task %s" (plist-get result :taskId))))))

;;;###autoload
(defun openhands-status ()
  "Show the OpenHands tasks and their states."
  (interactive)
  (openhands--command
   "openhands.task.status" []
   (lambda (result)
     (let ((tasks (append (plist-get result :tasks) nil)))
       (openhands--show
        3 (if tasks
              (mapconcat
               (lambda (task)
                 (format "%s %s: %s" (plist-get task :taskId)
                         (plist-get task :state)
                         (truncate-string-to-width
                          (car (split-string (or (plist-get task :prompt) "")
                                             "\n"))
                          60 nil nil t)))
               tasks "\n")
            "OpenHands: no tasks yet"))))))

(defun openhands--uri-to-file (uri)
  "The local file name of a file:// URI."
  (url-unhex-string (url-filename (url-generic-parse-url uri))))

;;;###autoload
(defun openhands-transcript ()
  "Open the Markdown transcript of the last conversation."
  (interactive)
  (openhands--command
   "openhands.transcript.open" []
   (lambda (result)
     (find-file-other-window
      (openhands--uri-to-file (plist-get result :uri))))))

(defun openhands--log-buffer ()
  "The *OpenHands log* buffer, made when first needed."
  (or (get-buffer "*OpenHands log*")
      (with-current-buffer (get-buffer-create "*OpenHands log*")
        (special-mode)
        (current-buffer))))

(defun openhands--log (text)
  "Append TEXT to the *OpenHands log* buffer."
  (with-current-buffer (openhands--log-buffer)
    (let ((inhibit-read-only t)
          (at-end (= (point) (point-max))))
      (save-excursion
        (goto-char (point-max))
        (insert text "\n"))
      (when at-end (goto-char (point-max))))))

;;;###autoload
(defun openhands-log ()
  "Show what the agent said, ran and edited."
  (interactive)
  (display-buffer (openhands--log-buffer)))

(defvar-keymap openhands-command-map
  :doc "OpenHands commands, to bind to a prefix key.
For example: (keymap-global-set \"C-c o\" openhands-command-map)."
  "t" #'openhands-task
  "r" #'openhands-reply
  "k" #'openhands-stop
  "s" #'openhands-status
  "v" #'openhands-transcript
  "l" #'openhands-log
  "e" #'openhands-start)

;;;; What the server asks of Emacs

(cl-defmethod eglot-handle-request
  ((server openhands-server) (_method (eql workspace/applyEdit))
   &key _label _edit)
  "Apply the agent's edit from SERVER.
Ask first only when `openhands-confirm-edits' is set; then tell the
server at once that the buffers changed."
  ;; Eglot 1.17 (Emacs 30) reads `eglot-confirm-server-edits'; Eglot 1.12
  ;; (Emacs 29) reads `eglot-confirm-server-initiated-edits'.  Binding
  ;; the one this Eglot has leaves other servers' setting alone.
  (let ((edits-option (if (boundp 'eglot-confirm-server-edits)
                          'eglot-confirm-server-edits
                        'eglot-confirm-server-initiated-edits))
        (confirm (and openhands-confirm-edits
                      (if (boundp 'eglot-confirm-server-edits)
                          'summary
                        'confirm))))
    (prog1 (cl-progv (list edits-option) (list confirm)
             (cl-call-next-method))
      (openhands--send-changes server))))

(cl-defmethod eglot-handle-request
  ((_server openhands-server) (_method (eql window/showMessageRequest))
   &key _type message actions &allow-other-keys)
  "Ask the approval question MESSAGE with `openhands-approval-function'.
ACTIONS are the answers; the chosen one, or null to reject, goes back."
  (let* ((titles (mapcar (lambda (action) (plist-get action :title))
                         (append actions nil)))
         (answer (condition-case nil
                     (funcall openhands-approval-function message titles)
                   (quit nil))))
    (if (member answer titles) (list :title answer) :null)))

(defun openhands--approval-choices (titles)
  "Choices for `read-multiple-choice': (KEY NAME TITLE) for each of TITLES."
  (let ((n 0))
    (mapcar (lambda (title)
              (pcase title
                ("Allow once" (list ?y "yes, once" title))
                ("Allow for this conversation"
                 (list ?a "always in this conversation" title))
                ("Reject" (list ?n "no" title))
                (_ (list (+ ?1 (prog1 n (cl-incf n))) title title))))
            titles)))

(defun openhands-approval-read-multiple-choice (message titles)
  "Ask MESSAGE with one key per answer in TITLES.
The keys are y (allow once), a (allow for the rest of the conversation)
and n (reject)."
  (nth 2 (read-multiple-choice (concat message "\n")
                               (openhands--approval-choices titles))))

(defun openhands-approval-completing-read (message titles)
  "Ask MESSAGE in the minibuffer, completing one of TITLES.
Empty input rejects."
  (let ((answer (completing-read
                 (format "%s\nAnswer (%s): " message (string-join titles ", "))
                 titles nil t)))
    (and (member answer titles) answer)))

(defvar openhands--last-outcome nil
  "The last \"OpenHands ...\" outcome line of the log, in full.")

(cl-defmethod eglot-handle-notification
  ((_server openhands-server) (_method (eql window/showMessage))
   &key type message)
  "Show the agent's MESSAGE of TYPE without Eglot's \"Server reports\".
The server shortens a task's outcome to one status line; the echo area
has room for the whole of it, which the log line before it holds."
  (let ((full (and openhands--last-outcome
                   (string-prefix-p (string-remove-suffix "…" message)
                                    openhands--last-outcome)
                   openhands--last-outcome)))
    (openhands--show type (string-replace "openhands.task.reply"
                                         "M-x openhands-reply"
                                         (or full message)))))

(cl-defmethod eglot-handle-notification
  ((_server openhands-server) (_method (eql window/logMessage))
   &key _type message)
  "Keep the agent's log MESSAGE in the *OpenHands log* buffer."
  (when (string-match "\\`\\[[^]]+\\] \\(OpenHands \\(?:.\\|\n\\)*\\)" message)
    (setq openhands--last-outcome (match-string 1 message)))
  (openhands--log message))

(provide 'openhands)
;;; openhands.el ends here
