-- Why this file exists: `:OpenHandsChanges`, the review of a task's changes. A scratch buffer lists each file
-- the task changed with its added/removed lines (`openhands.task.changes`); keys open a file's diff
-- (`openhands.task.diff`), keep it or revert it (`openhands.task.keep`/`revert`), one file or all. It refreshes
-- after keep and revert and when a task ends; a refused revert shows the server's message. Neovim 0.7 to 0.11+.
local client = require("openhands.client")
local status = require("openhands.status")

local M = {}
local api = vim.api

local ns = api.nvim_create_namespace("openhands_changes")
M.ns = ns

-- buf: the list's buffer; target: the task id or conversation id it shows (nil: the task the plugin follows);
-- pinned: the user named the target; rows: line number -> path; message: the last outcome, with its group;
-- result: the last answer of openhands.task.changes (or error: why there is none); pending: a revert whose
-- outcome has not arrived; loading: requests for the list not answered yet; diffing: diff requests not
-- answered yet; shown: diffs the list showed, whose `window/showDocument` from the server is not needed;
-- live: the files the running task (live_task) edited so far, from the panel's updates.
local state = {
  buf = nil,
  target = nil,
  pinned = false,
  rows = {},
  message = nil,
  message_group = nil,
  result = nil,
  error = nil,
  pending = false,
  loading = 0,
  diffing = 0,
  shown = {},
  live = {},
  live_task = nil,
}

local marks = { added = "A", modified = "M", deleted = "D" }

M.keys_help = "<CR> diff  o open  k keep  r revert  K keep all  R revert all  D whole diff  gr refresh  q close"

--- The arguments naming the task: `{taskId}` or `{conversationId}`, or `{}` (the server's last task).
local function task_args(extra)
  local args = {}
  local t = state.target
  if not t then
    local cur = status.current()
    t = cur and cur.taskId
  end
  if t then
    if t:match("^t%d+$") then
      args.taskId = t
    else
      args.conversationId = t
    end
  end
  for k, v in pairs(extra or {}) do
    args[k] = v
  end
  return args
end

local function define_highlights()
  local set = function(name, link)
    api.nvim_set_hl(0, name, { link = link, default = true })
  end
  set("OpenHandsChangesAdded", "DiffAdd")
  set("OpenHandsChangesRemoved", "DiffDelete")
  set("OpenHandsChangesKept", "Comment")
  set("OpenHandsChangesReverted", "Comment")
  set("OpenHandsChangesHeader", "Title")
  set("OpenHandsChangesHelp", "Comment")
  set("OpenHandsChangesError", "ErrorMsg")
end

--- A JSON value that is there (the server's `null` may reach Lua as vim.NIL).
local function given(v)
  return v ~= nil and v ~= vim.NIL
end

--- One line of the list for `f` (a FileChange), with the path column `width` cells wide, and the byte
--- offsets of its `+added` and `−removed` counts (nil for a binary file).
function M.format_file(f, width)
  local path = tostring(f.path)
  local pad = (" "):rep(math.max(0, width - vim.fn.strdisplaywidth(path)))
  local prefix = ("%s %s%s  "):format(marks[f.status] or "?", path, pad)
  local line, plus, minus
  if given(f.binary) and f.binary then
    line = prefix .. "binary"
  else
    local added = ("+%d"):format(tonumber(f.added) or 0)
    line = ("%s%s −%d"):format(prefix, added, tonumber(f.removed) or 0)
    plus, minus = #prefix, #prefix + #added + 1
  end
  if given(f.settled) then
    line = line .. "  " .. tostring(f.settled)
  end
  return line, plus, minus
end

--- Writes the list into the buffer, keeping the cursor on the same file where it can.
local function render()
  local buf = state.buf
  if not (buf and api.nvim_buf_is_valid(buf)) then
    return
  end
  local cursor_path
  local win = M.window()
  if win then
    cursor_path = state.rows[api.nvim_win_get_cursor(win)[1]]
  end
  local lines, hls, rows = {}, {}, {}
  local function add(text, group)
    lines[#lines + 1] = text
    if group then
      hls[#hls + 1] = { #lines - 1, 0, -1, group }
    end
  end
  local r = state.result
  if r then
    local files = type(r.files) == "table" and r.files or {}
    local who = state.target or (status.current() and status.current().taskId) or "the last task"
    add(("OpenHands: %d file(s) changed by %s (conversation %s)"):format(#files, who, tostring(r.conversationId)),
      "OpenHandsChangesHeader")
    add(M.keys_help, "OpenHandsChangesHelp")
    add("")
    local width = 0
    for _, f in ipairs(files) do
      width = math.max(width, vim.fn.strdisplaywidth(tostring(f.path)))
    end
    for _, f in ipairs(files) do
      local line, plus, minus = M.format_file(f, width)
      local settled = given(f.settled) and f.settled or nil
      add(line, (settled == "kept" and "OpenHandsChangesKept") or (settled and "OpenHandsChangesReverted") or nil)
      rows[#lines] = tostring(f.path)
      if not settled and plus then
        hls[#hls + 1] = { #lines - 1, plus, minus - 1, "OpenHandsChangesAdded" }
        hls[#hls + 1] = { #lines - 1, minus, -1, "OpenHandsChangesRemoved" }
      end
    end
    if #files == 0 then
      add("(the task changed no file)")
    end
  else
    add("OpenHands: changes", "OpenHandsChangesHeader")
    add(M.keys_help, "OpenHandsChangesHelp")
    add("")
    if state.error then
      add(state.error, "OpenHandsChangesError")
    else
      add("(loading…)")
    end
    if #state.live > 0 then
      -- A running task's edits as the panel sees them; the server lists them with counts when it ends.
      add("")
      add(("Edited so far by %s (the list comes when it ends):"):format(state.live_task or "the task"))
      for _, path in ipairs(state.live) do
        add("~ " .. path)
      end
    end
  end
  if state.message then
    add("")
    add(state.message, state.message_group)
  end
  state.rows = rows
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  for _, h in ipairs(hls) do
    local row, first, last, group = h[1], h[2], h[3], h[4]
    last = last == -1 and #lines[row + 1] or last
    api.nvim_buf_set_extmark(buf, ns, row, first, { end_col = last, hl_group = group })
  end
  if win and api.nvim_win_is_valid(win) and #api.nvim_tabpage_list_wins(0) > 1 then
    -- The list's window fits the list (the diff above gets the rest).
    api.nvim_win_set_height(win, math.min(15, math.max(5, #lines)))
  end
  if win and api.nvim_win_is_valid(win) then
    -- The cursor stays on its file; off a file, it goes to the first one.
    local first, same
    for row, path in pairs(rows) do
      first = (first == nil or row < first) and row or first
      if path == cursor_path then
        same = row
      end
    end
    local row = same or (not rows[api.nvim_win_get_cursor(win)[1]] and first) or nil
    if row then
      api.nvim_win_set_cursor(win, { row, 0 })
    end
  end
end

--- Shows `text` under the list (an outcome or an error); one short line also goes to the echo area.
local function say(text, is_error)
  state.message = text
  state.message_group = is_error and "OpenHandsChangesError" or nil
  render()
  status.echo(text, is_error and "ErrorMsg" or nil)
end

--- Asks the server for the task's changes again and redraws.
function M.refresh()
  if not (state.buf and api.nvim_buf_is_valid(state.buf)) then
    return
  end
  state.loading = state.loading + 1
  client.execute("openhands.task.changes", { task_args() }, function(err, result)
    state.loading = state.loading - 1
    if err then
      state.result, state.error = nil, tostring(err.message or err)
      if not state.target and not status.current() then
        state.error = state.error .. " (start a task with :OpenHands, or name a stored conversation: "
          .. ":OpenHandsChanges {id})"
      end
    else
      state.result, state.error = result, nil
    end
    render()
  end)
end

--- The window showing the list, if any.
function M.window()
  if not (state.buf and api.nvim_buf_is_valid(state.buf)) then
    return nil
  end
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == state.buf then
      return win
    end
  end
  return nil
end

function M.buf()
  return state.buf
end

--- The path on the cursor's line, or nil (and a word to the user) when the line is not a file.
local function path_at_cursor()
  local path = state.rows[api.nvim_win_get_cursor(0)[1]]
  if not path then
    status.echo("OpenHands: put the cursor on a file of the list")
  end
  return path
end

local diff_prefix = "openhands://diff/"

--- Shows a diff read-only in a window above the list (reusing one that shows a diff already).
function M.show_diff(name, text)
  local bufname = diff_prefix .. name
  local buf = vim.fn.bufnr("^" .. vim.fn.escape(bufname, "\\/.*$^~[]") .. "$")
  if buf == -1 then
    buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_name(buf, bufname)
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "hide"
    vim.bo[buf].swapfile = false
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, vim.split((tostring(text):gsub("\n$", "")), "\n", true))
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  vim.bo[buf].filetype = "diff"
  local win
  for _, w in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_buf_get_name(api.nvim_win_get_buf(w)):sub(1, #diff_prefix) == diff_prefix then
      win = w
    end
  end
  if not win then
    local list = M.window()
    if list then
      api.nvim_set_current_win(list)
      vim.cmd("aboveleft split")
    else
      vim.cmd("botright split")
    end
    win = api.nvim_get_current_win()
    -- Half the screen for the diff, taken from the windows above (the list keeps its height).
    api.nvim_win_set_height(win, math.max(10, math.floor(vim.o.lines / 2)))
  end
  api.nvim_win_set_buf(win, buf)
  api.nvim_set_current_win(win)
  api.nvim_win_set_cursor(win, { 1, 0 })
  return buf
end

--- `window/showDocument` of a diff the server wrote (`<data>/reviews/*.diff`): shown like `<CR>` shows it.
--- Returns whether it was one.
function M.show_document(uri)
  if type(uri) ~= "string" or not uri:match("/reviews/[^/]+%.diff$") then
    return false
  end
  if state.diffing > 0 or state.shown[uri] then
    -- The list asked for this diff: its answer shows it (the server also sends it to editors without a list).
    state.shown[uri] = nil
    return true
  end
  local path = vim.uri_to_fname(uri)
  local ok, lines = pcall(vim.fn.readfile, path)
  if not ok then
    return false
  end
  -- `<conversation>-<first event>[-<file with / as _>].diff`: named by the file, or "task".
  local name = vim.fn.fnamemodify(path, ":t:r")
  name = name:match("^%x+%-%d+%-(.+)$") or (name:match("^%x+%-%d+$") and "task") or name
  vim.schedule(function()
    M.show_diff(name, table.concat(lines, "\n"))
  end)
  return true
end

local function diff(file)
  state.diffing = state.diffing + 1
  client.execute("openhands.task.diff", { task_args({ file = file }) }, function(err, result)
    state.diffing = state.diffing - 1
    if result and type(result.uri) == "string" then
      state.shown[result.uri] = true
    end
    if err then
      return say("OpenHands: " .. tostring(err.message or err), true)
    end
    M.show_diff(file or "task", result and result.diff or "")
  end)
end

function M.diff_at_cursor()
  local path = path_at_cursor()
  if path then
    diff(path)
  end
end

function M.whole_diff()
  diff(nil)
end

--- Opens the file under the cursor in the window above the list.
function M.open_at_cursor()
  local path = path_at_cursor()
  if not path then
    return
  end
  local root = client.root() or vim.fn.getcwd()
  vim.cmd("wincmd p")
  if api.nvim_get_current_buf() == state.buf then
    vim.cmd("aboveleft split")
  end
  vim.cmd("edit " .. vim.fn.fnameescape(root .. "/" .. path))
end

local function keep(file)
  client.execute("openhands.task.keep", { task_args({ file = file }) }, function(err, result)
    if err then
      return say("OpenHands: keep failed: " .. tostring(err.message or err), true)
    end
    local kept = result and result.kept or {}
    say(("OpenHands kept %s"):format(#kept > 0 and table.concat(kept, ", ") or "nothing (every file is settled)"))
    M.refresh()
  end)
end

local function revert(file)
  -- Pending from the request on: the outcome's log line may come before the answer.
  state.pending = true
  client.execute("openhands.task.revert", { task_args({ file = file }) }, function(err, result)
    if err then
      -- Refused (the user changed the same lines, a task still runs, ...): nothing was reverted.
      state.pending = false
      return say("OpenHands: NOT reverted: " .. tostring(err.message or err), true)
    end
    local paths = result and result.reverting or {}
    if #paths == 0 then
      state.pending = false
      return say("OpenHands: nothing to revert (every file is settled)")
    end
    if state.pending then
      say(("OpenHands: reverting %s…"):format(table.concat(paths, ", ")))
    end
  end)
end

function M.keep_at_cursor()
  local path = path_at_cursor()
  if path then
    keep(path)
  end
end

function M.revert_at_cursor()
  local path = path_at_cursor()
  if path then
    revert(path)
  end
end

function M.keep_all()
  keep(nil)
end

function M.revert_all()
  revert(nil)
end

--- `openhands/reviewUpdated`: how a revert ended (`ok`, and the line the server logs as `message`).
function M.reviewed(params)
  if not state.pending or type(params) ~= "table" or params.action ~= "revert" then
    return
  end
  state.pending = false
  local text = tostring(params.message or "")
  local failed = params.ok ~= true
  if failed then
    text = "OpenHands: " .. text
  end
  vim.schedule(function()
    say(text, failed)
    M.refresh()
  end)
end

--- `path` relative to the workspace when it is inside it.
local function relative(path)
  local root = client.root()
  if root and path:sub(1, #root + 1) == root .. "/" then
    return path:sub(#root + 2)
  end
  return path
end

--- An `openhands/sessionUpdate`: a running task's finished edits show in the list while the server cannot list
--- them yet.
function M.session_update(params)
  if not (state.buf and api.nvim_buf_is_valid(state.buf)) or type(params) ~= "table" then
    return
  end
  local task = type(params._meta) == "table" and params._meta.taskId or nil
  if state.pinned and task ~= state.target then
    return
  end
  if task and task ~= state.live_task then
    -- A new task: the server lists its changes when it ends (then task_ended asks).
    state.live, state.live_task = {}, task
    state.result, state.message = nil, nil
    state.error = ("task %s is running; its changes are listed when it ends"):format(task)
    vim.schedule(render)
  end
  local u = params.update
  if type(u) ~= "table" or u.sessionUpdate ~= "tool_call_update" or u.status ~= "completed" then
    return
  end
  for _, c in ipairs(type(u.content) == "table" and u.content or {}) do
    if type(c) == "table" and c.type == "diff" and type(c.path) == "string" then
      local path = relative(c.path)
      if not vim.tbl_contains(state.live, path) then
        state.live[#state.live + 1] = path
        vim.schedule(render)
      end
    end
  end
end

--- A task reached a final state: the list shows its changes now (the task the plugin follows, unless the
--- user named one).
function M.task_ended(params)
  if not (state.buf and api.nvim_buf_is_valid(state.buf)) then
    return
  end
  if not state.pinned then
    state.message = nil
  end
  state.live = {}
  vim.schedule(M.refresh)
end

--- Asks for task `task_id`'s changes and calls `show(line)` with one line about them when it changed files:
--- `2 file(s) changed (+4 −2): :OpenHandsChanges to review them`.
function M.summary(task_id, show)
  if type(task_id) ~= "string" then
    return
  end
  client.execute("openhands.task.changes", { { taskId = task_id } }, function(err, result)
    local files = not err and type(result) == "table" and type(result.files) == "table" and result.files or {}
    if #files == 0 then
      return
    end
    local added, removed = 0, 0
    for _, f in ipairs(files) do
      added = added + (tonumber(f.added) or 0)
      removed = removed + (tonumber(f.removed) or 0)
    end
    show(("%d file(s) changed (+%d −%d): :OpenHandsChanges to review them"):format(#files, added, removed))
  end)
end

local function buffer()
  if state.buf and api.nvim_buf_is_valid(state.buf) then
    return state.buf
  end
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_name(buf, "openhands://changes")
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "openhands-changes"
  define_highlights()
  local map = function(lhs, f, desc)
    vim.keymap.set("n", lhs, f, { buffer = buf, nowait = true, silent = true, desc = "OpenHands: " .. desc })
  end
  map("<CR>", M.diff_at_cursor, "the diff of the file under the cursor")
  map("o", M.open_at_cursor, "open the file under the cursor")
  map("k", M.keep_at_cursor, "keep the task's changes to the file under the cursor")
  map("r", M.revert_at_cursor, "revert the task's changes to the file under the cursor")
  map("K", M.keep_all, "keep every file not yet settled")
  map("R", M.revert_all, "revert every file not yet settled")
  map("D", M.whole_diff, "the task's whole diff")
  map("gr", M.refresh, "refresh the list")
  map("q", function()
    if #api.nvim_tabpage_list_wins(0) > 1 then
      api.nvim_win_close(0, false)
    end
  end, "close the list")
  state.buf = buf
  return buf
end

--- `:OpenHandsChanges [taskId|conversationId]`: opens the list (at the bottom) and loads it.
function M.open(target)
  if target and target ~= "" then
    state.target, state.pinned = target, true
  else
    state.target, state.pinned = nil, false
  end
  local buf = buffer()
  local win = M.window()
  if not win then
    vim.cmd("botright split")
    win = api.nvim_get_current_win()
    api.nvim_win_set_buf(win, buf)
    api.nvim_win_set_height(win, 8)
    vim.wo[win].winfixheight = true
    vim.wo[win].number = false
    vim.wo[win].relativenumber = false
    vim.wo[win].signcolumn = "no"
    vim.wo[win].wrap = true
    vim.wo[win].cursorline = true
    vim.wo[win].list = false
  end
  api.nvim_set_current_win(win)
  state.message = nil
  render()
  M.refresh()
  return buf
end

--- For tests: what the list knows.
function M.state()
  return state
end

return M
