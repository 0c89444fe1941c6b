// Why this file exists: the text before a task's change, rebuilt from git's unified diff and the file as it is
// now, for VS Code's diff editor: two hunks, a missing final newline on either side, new and deleted files, and
// every way it must give up (the file changed since, a binary file, no hunks).

import { strict as assert } from "node:assert";
import { test } from "node:test";

import { reverseApply } from "../../src/unidiff";

// `git diff` output, as the server's `openhands.task.diff` gives it.
const twoHunks = `diff --git a/x b/x
index 92dfa21..06b5c2b 100644
--- a/x
+++ b/x
@@ -1,5 +1,5 @@
 a
-b
+B
 c
 d
 e
@@ -8,3 +8,4 @@ g
 h
 i
 j
+k
`;
const before = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
const after = "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\n";

test("two hunks undone on the file as the task left it", () => {
  assert.equal(reverseApply(twoHunks, after), before);
});

test("a final newline the task added, or removed", () => {
  const added = `diff --git a/y b/y
--- a/y
+++ b/y
@@ -1,2 +1,2 @@
 no
-eol
\\ No newline at end of file
+eol
`;
  assert.equal(reverseApply(added, "no\neol\n"), "no\neol");
  const removed = `diff --git a/y b/y
--- a/y
+++ b/y
@@ -1,2 +1,2 @@
 no
-eol
+eol
\\ No newline at end of file
`;
  assert.equal(reverseApply(removed, "no\neol"), "no\neol\n");
  assert.equal(reverseApply(removed, "no\neol\n"), undefined, "the newline came back since");
  // A file without a final newline changed far from its end keeps lacking it.
  const far = `diff --git a/f b/f
--- a/f
+++ b/f
@@ -1,2 +1,2 @@
-one
+ONE
 two
`;
  assert.equal(reverseApply(far, "ONE\ntwo\nthree\nfour\nfive"), "one\ntwo\nthree\nfour\nfive");
});

test("a new file was empty before; a deleted file comes back whole", () => {
  const created = `diff --git a/z b/z
new file mode 100644
index 0000000..07f33c4
--- /dev/null
+++ b/z
@@ -0,0 +1,2 @@
+new
+file
`;
  assert.equal(reverseApply(created, "new\nfile\n"), "");
  const deleted = `diff --git a/z b/z
deleted file mode 100644
--- a/z
+++ /dev/null
@@ -1,2 +0,0 @@
-new
-file
`;
  assert.equal(reverseApply(deleted, ""), "new\nfile\n");
});

test("gives up when the file changed since, for a binary file, or without hunks", () => {
  assert.equal(reverseApply(twoHunks, after.replace("B", "user typed")), undefined);
  assert.equal(reverseApply(twoHunks, "a\n"), undefined);
  assert.equal(reverseApply("diff --git a/p b/p\nBinary files a/p and b/p differ\n", "x"), undefined);
  assert.equal(reverseApply("", "x"), undefined);
  // Only the first file of a diff of several counts.
  assert.equal(reverseApply(twoHunks + twoHunks.replace(/x/g, "w"), after), before);
});
