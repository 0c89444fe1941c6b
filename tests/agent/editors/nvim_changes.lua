-- Why this file exists: the `changes` scenario of nvim_plugin.lua: after a real task edited an open buffer and
-- a closed file, the user reviews its changes in `:OpenHandsChanges` with the list's own keys (diff, revert,
-- a refused revert, keep), then a second task edits more and the list follows it (revert all).
local api = vim.api

local M = {}

function M.changes(report, done, server, base_url, file)
  local panel = require("openhands.panel")
  local changes = require("openhands.changes")
  local ws = vim.fn.fnamemodify(file, ":p:h")

  local function press(keys)
    api.nvim_feedkeys(api.nvim_replace_termcodes(keys, true, false, true), "x", false)
  end
  local function list()
    return api.nvim_buf_get_lines(changes.buf(), 0, -1, false)
  end
  -- Puts the cursor on `path`'s line of the list, in the list's window.
  local function on(path)
    api.nvim_set_current_win((assert(changes.window(), "the list is not shown")))
    for row, p in pairs(changes.state().rows) do
      if p == path then
        api.nvim_win_set_cursor(0, { row, 0 })
        return
      end
    end
    error("no " .. path .. " in the list:\n" .. table.concat(list(), "\n"))
  end
  local function settled()
    local st = changes.state()
    return not st.pending and st.loading == 0
  end
  local function list_has(text)
    return table.concat(list(), "\n"):find(text, 1, true) ~= nil
  end
  local function panel_has(text)
    return table.concat(api.nvim_buf_get_lines(panel.buf(), 0, -1, false), "\n"):find(text, 1, true) ~= nil
  end
  local function diff_buffers()
    local names = {}
    for _, b in ipairs(api.nvim_list_bufs()) do
      local name = api.nvim_buf_get_name(b)
      if name:find("openhands://diff/", 1, true) == 1 then
        names[#names + 1] = name
      end
    end
    table.sort(names)
    return names
  end
  local function disk(name)
    return vim.fn.readfile(ws .. "/" .. name)
  end

  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local notes = api.nvim_get_current_buf()
  require("openhands").setup({ cmd = { server }, base_url = base_url, approvals = "never" })
  if not require("openhands.client").wait_initialized(15000) then
    return done(false, "the server did not initialize")
  end
  vim.cmd("OpenHands edit two files")
  if not vim.wait(60000, function()
    return panel_has("OpenHands finished")
  end, 50) then
    return done(false, "the first task did not finish")
  end
  -- The panel says how much the task changed and how to review it.
  vim.wait(5000, function()
    return panel_has("file(s) changed")
  end, 20)
  report.panel = api.nvim_buf_get_lines(panel.buf(), 0, -1, false)

  -- The list: both files with their counts.
  vim.cmd("OpenHandsChanges")
  report.loaded = vim.wait(10000, function()
    return changes.state().result ~= nil and settled()
  end, 20)
  report.list = list()
  report.list_window = changes.window() ~= nil
  -- The counts' highlights: the text each highlight covers, with its group.
  report.highlights = {}
  for _, m in ipairs(api.nvim_buf_get_extmarks(changes.buf(), changes.ns, 0, -1, { details = true })) do
    local row, col, d = m[2], m[3], m[4]
    local text = api.nvim_buf_get_lines(changes.buf(), row, row + 1, false)[1]:sub(col + 1, d.end_col)
    table.insert(report.highlights, { text, d.hl_group })
  end

  -- <CR> on b.txt: its diff, read-only.
  on("b.txt")
  press("<CR>")
  vim.wait(5000, function()
    return api.nvim_buf_get_name(0):find("openhands://diff/", 1, true) ~= nil
  end, 20)
  report.diff_name = api.nvim_buf_get_name(0)
  report.diff = api.nvim_buf_get_lines(0, 0, -1, false)
  report.diff_modifiable = vim.bo.modifiable
  report.diff_filetype = vim.bo.filetype
  -- The server's window/showDocument of the same diff (0.11 supports it) opens no second one.
  vim.wait(500)
  report.diff_buffers = diff_buffers()

  -- D: the whole diff, both files; o: the file itself.
  api.nvim_set_current_win(changes.window())
  press("D")
  vim.wait(5000, function()
    return api.nvim_buf_get_name(0) == "openhands://diff/task"
  end, 20)
  report.whole_diff = api.nvim_buf_get_lines(0, 0, -1, false)
  on("notes.txt")
  press("o")
  report.opened = api.nvim_buf_get_name(0)
  report.list_still_shown = changes.window() ~= nil

  -- r on b.txt (closed): restored on disk, the list says so.
  on("b.txt")
  press("r")
  report.reverted = vim.wait(10000, function()
    return settled() and list_has("+3 −1  reverted")
  end, 20)
  report.list_after_revert = list()
  report.b_disk = disk("b.txt")

  -- The user changes the line the task changed in notes.txt: r is refused with the server's message.
  api.nvim_buf_set_lines(notes, 0, 1, false, { "first line, edited by me" })
  vim.wait(300)
  on("notes.txt")
  press("r")
  report.refused = vim.wait(10000, function()
    return settled() and list_has("NOT reverted")
  end, 20)
  report.list_after_refusal = list()
  report.notes_after_refusal = api.nvim_buf_get_lines(notes, 0, -1, false)

  -- k keeps it.
  on("notes.txt")
  press("k")
  report.kept = vim.wait(10000, function()
    return settled() and list_has("  kept")
  end, 20)
  report.list_after_keep = list()

  -- b.txt opened in a buffer shows the restored text; the next task edits that buffer, and the list follows.
  vim.cmd("wincmd t")
  vim.cmd("edit " .. vim.fn.fnameescape(ws .. "/b.txt"))
  local b = api.nvim_get_current_buf()
  report.b_buffer = api.nvim_buf_get_lines(b, 0, -1, false)
  vim.cmd("OpenHandsReply now change b.txt")
  -- While it runs (a command of 3 s after its edit), the list shows what it edited so far.
  report.live = vim.wait(30000, function()
    return list_has("is running") and list_has("~ b.txt")
  end, 20)
  report.list_running = list()
  report.followed = vim.wait(60000, function()
    return settled() and list_has("b.txt  +1 −1") and not list_has("notes.txt")
  end, 50)
  report.list_second = list()
  report.b_buffer_second = api.nvim_buf_get_lines(b, 0, -1, false)

  -- R reverts every file: the open buffer through the editor, unsaved.
  api.nvim_set_current_win(changes.window())
  press("R")
  report.reverted_all = vim.wait(10000, function()
    return settled() and list_has("+1 −1  reverted")
  end, 20)
  report.list_after_revert_all = list()
  report.b_buffer_after = api.nvim_buf_get_lines(b, 0, -1, false)
  report.b_disk_after = disk("b.txt")
  -- K with every file settled keeps nothing and says so.
  api.nvim_set_current_win(changes.window())
  press("K")
  vim.wait(5000, function()
    return settled() and list_has("OpenHands kept nothing")
  end, 20)
  report.list_after_keep_all = list()
  -- The diff command run by itself (a code action's): the server shows it with window/showDocument, which
  -- opens it like the list does (on 0.7 too: the plugin handles showDocument there).
  require("openhands.client").execute("openhands.task.diff", { { taskId = "t1", file = "notes.txt" } }, function() end)
  vim.wait(3000, function()
    return vim.tbl_contains(diff_buffers(), "openhands://diff/notes.txt")
  end, 20)
  report.diff_buffers_after_command = diff_buffers()
  -- Any other document the server shows (the transcript) opens as a file, on 0.7 through the plugin.
  require("openhands.client").execute("openhands.transcript.open", {}, function() end)
  vim.wait(3000, function()
    return api.nvim_buf_get_name(0):match("%.md$") ~= nil
  end, 20)
  report.shown_document = api.nvim_buf_get_name(0)
  report.log = require("openhands.log").lines()
  done(true)
end

--- What the list says when there is nothing to list or nobody to ask: no task yet, a bad id, a key on a line
--- that is not a file, a server that stopped.
function M.changes_faults(report, done, server, base_url, file)
  local changes = require("openhands.changes")
  local function list()
    return api.nvim_buf_get_lines(changes.buf(), 0, -1, false)
  end
  local function answered()
    return changes.state().loading == 0
  end
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  require("openhands").setup({ cmd = { server }, base_url = base_url, approvals = "never" })
  if not require("openhands.client").wait_initialized(15000) then
    return done(false, "the server did not initialize")
  end
  vim.cmd("OpenHandsChanges")
  vim.wait(5000, function()
    return answered() and changes.state().error ~= nil
  end, 20)
  report.no_task = list()
  -- A key on the header asks nothing.
  api.nvim_win_set_cursor(0, { 1, 0 })
  api.nvim_feedkeys("r", "x", false)
  report.pending_after_header_key = changes.state().pending
  vim.cmd("OpenHandsChanges not-an-id")
  vim.wait(5000, function()
    return answered() and changes.state().error ~= nil
  end, 20)
  report.bad_id = list()
  vim.cmd("OpenHandsChanges 0123456789ab")
  vim.wait(5000, function()
    return answered() and changes.state().error ~= nil
  end, 20)
  report.unknown_conversation = list()
  -- The server stops; the list says so instead of waiting.
  require("openhands.client").stop()
  vim.wait(2000, function()
    return require("openhands.client").get() == nil
  end, 20)
  api.nvim_set_current_win(changes.window())
  api.nvim_feedkeys("gr", "x", false)
  vim.wait(2000, answered, 20)
  report.stopped = list()
  done(true)
end

return M
