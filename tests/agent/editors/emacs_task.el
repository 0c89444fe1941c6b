;;; emacs_task.el --- the user in tests/agent/editors/emacs.rs  -*- lexical-binding: t -*-

;; The Emacs test's user, run by `emacs -Q --batch -l emacs_task.el': loads
;; editors/emacs/openhands.el, opens a file, runs two tasks with
;; `openhands-task' (an edit, then two approvals) and saves, failing on any
;; question Emacs asks on its own.  It writes what it saw as JSON to
;; $OPENHANDS_TEST_OUT.  Env: OPENHANDS_EL, OPENHANDS_LSP, OPENHANDS_TEST_FILE.

;;; Code:

(require 'cl-lib)
(require 'json)
(load (getenv "OPENHANDS_EL") nil t)

(defvar test-questions nil "Questions Emacs asked: each fails the test.")
(defvar test-messages nil "What OpenHands showed, newest first.")
(defvar test-approvals nil "The approval questions: (MESSAGE TITLES ANSWER).")
(defvar test-failure nil)
(defvar test-modified nil "Whether the buffer was modified after the edit.")
(defvar test-saved nil "The file's text after `save-buffer'.")
(defvar test-buffer nil "The buffer of the file the tasks work on.")
(defvar test-transcript nil "The transcript's file, and whether it holds a prompt.")

(defvar test-confirm (equal (getenv "OPENHANDS_TEST_CONFIRM") "1")
  "Whether the user chose `openhands-confirm-edits': then questions are
answered yes and only the edit task runs.")

;; An agent's edit must not ask anything: not Eglot's "Server wants to edit",
;; not "changed on disk", not "really edit/save".
(dolist (asker '(y-or-n-p yes-or-no-p ask-user-about-supersession-threat
                          ask-user-about-lock))
  (advice-add asker :override
              (lambda (&rest args)
                (push (format "%s %S" asker args) test-questions)
                (if test-confirm
                    t
                  (error "Emacs asked the user: %s %S" asker args)))))

(defvar test-progress nil
  "What Eglot's mode-line indicator held after each `$/progress', newest first:
\"TITLE PERCENT% MESSAGE\" per task (batch Emacs draws no mode line).")

;; Watch (not replace) Eglot's progress handling.
(advice-add 'eglot-handle-notification :after
            (lambda (server method &rest _)
              (when (eq method '$/progress)
                (cl-loop for reporter being the hash-values
                         of (eglot--progress-reporters server)
                         when (eq (car reporter) 'eglot--mode-line-reporter)
                         do (push (format "%s %s%% %s" (nth 2 reporter)
                                          (nth 4 reporter) (nth 3 reporter))
                                  test-progress)))))

(add-hook 'openhands-message-functions
          (lambda (_type text) (push text test-messages)))

(defun test-finish ()
  "Write what was seen and exit."
  (with-temp-file (getenv "OPENHANDS_TEST_OUT")
    (insert (json-encode
             (list :failure test-failure
                   :questions (vconcat (reverse test-questions))
                   :messages (vconcat (reverse test-messages))
                   :approvals (vconcat (mapcar #'vconcat (reverse test-approvals)))
                   :buffer (with-current-buffer test-buffer (buffer-string))
                   :modified test-modified
                   :saved test-saved
                   :transcript (vconcat test-transcript)
                   :progress (vconcat (reverse test-progress))))))
  (kill-emacs 0))

(defun test-wait (what predicate &optional seconds)
  "Wait up to SECONDS (default 30) for PREDICATE; else fail saying WHAT."
  (let ((deadline (+ (float-time) (or seconds 30))))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless (funcall predicate)
      (setq test-failure (format "never saw %s" what))
      (test-finish))))

(defun test-seen (regexp)
  "Whether OpenHands showed a message matching REGEXP."
  (cl-some (lambda (m) (string-match-p regexp m)) test-messages))

(defun test-finished (n)
  "Whether N tasks said they finished."
  (>= (cl-count-if (lambda (m) (string-prefix-p "OpenHands finished" m))
                   test-messages)
      n))


(setq openhands-program (list (getenv "OPENHANDS_LSP"))
      openhands-confirm-edits test-confirm)

;; The first approval is answered with a key (y/a/n), the second in the
;; minibuffer, which batch Emacs reads from stdin ("Allow once").
(setq openhands-approval-function
      (lambda (message titles)
        (let ((answer
               (if test-approvals
                   (openhands-approval-completing-read message titles)
                 (setq unread-command-events (list ?n))
                 (openhands-approval-read-multiple-choice message titles))))
          (push (list message titles answer) test-approvals)
          answer)))

(condition-case err
    (progn
      (setq test-buffer (find-file (getenv "OPENHANDS_TEST_FILE")))
      ;; Both ways to connect: M-x eglot in a mode of `openhands-modes', and
      ;; M-x openhands-start in any buffer.
      (if test-confirm
          (openhands-start)
        (setq openhands-modes '(text-mode))
        (openhands-mode 1)
        (call-interactively #'eglot))
      (test-wait "the OpenHands connection"
                 (lambda () (cl-typep (eglot-current-server) 'openhands-server)))
      ;; In the second run the user types a line and does not save: the
      ;; agent must see it (Eglot alone would send it only once Emacs idles).
      (when test-confirm
        (save-excursion (goto-char (point-max))
                        (insert "third line typed by the user\n")))
      ;; The first line as the region: the file and lines go with the prompt.
      (openhands-task "say on this line that the agent edited it"
                      (point-min)
                      (save-excursion (goto-char (point-min))
                                      (line-end-position)))
      (test-wait "the first task finish" (lambda () (test-finished 1)))
      (setq test-modified (buffer-modified-p test-buffer))
      (unless test-confirm
        (openhands-task "remove the scratch files")
        (test-wait "the second task finish" (lambda () (test-finished 2)))
        (openhands-status)
        (test-wait "the status" (lambda () (test-seen "^t1 ")))
        (openhands-transcript)
        (test-wait "the transcript"
                   (lambda () (string-match-p "/\\.openhands/transcripts/[^/]+\\.md\\'"
                                              (or (buffer-file-name (window-buffer)) ""))))
        (setq test-transcript
              (with-current-buffer (window-buffer)
                (list (file-relative-name buffer-file-name
                                          (file-name-directory (getenv "OPENHANDS_TEST_FILE")))
                      (and (string-search "remove the scratch files" (buffer-string)) t))))
        (openhands-task "look at the notes")
        (test-wait "the question" (lambda () (test-seen "^OpenHands asks")))
        (openhands-reply "notes.txt, please")
        (test-wait "the third task finish" (lambda () (test-finished 3)))
        (openhands-task "take your time")
        ;; Stop it once the model is thinking (the test touches this file when
        ;; the scripted model holds the request).
        (test-wait "the model's call"
                   (lambda () (file-exists-p (getenv "OPENHANDS_TEST_LLM_WAITING"))))
        (openhands-stop)
        (test-wait "the cancel" (lambda () (test-seen "^OpenHands: task cancelled"))))
      (with-current-buffer test-buffer (save-buffer))
      (setq test-saved (with-temp-buffer
                         (insert-file-contents (getenv "OPENHANDS_TEST_FILE"))
                         (buffer-string)))
      (test-finish))
  (error (setq test-failure (error-message-string err))
         (test-finish)))

;;; emacs_task.el ends here
