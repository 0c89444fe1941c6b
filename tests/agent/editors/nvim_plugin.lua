-- Why this file exists: headless Neovim with only editors/nvim on its runtimepath plays the user for
-- tests/agent/editors/nvim.rs: it runs one scenario (OH_SCENARIO: load, task, missing, health, changes,
-- changes_faults) through the
-- plugin's own commands and writes what the user would see as JSON to OH_REPORT (exit 1 on failure).
local scenario = os.getenv("OH_SCENARIO")
local report_path = os.getenv("OH_REPORT")
local server = os.getenv("OH_LSP")
local file = os.getenv("OH_FILE")
local base_url = os.getenv("OH_BASE_URL")
local api = vim.api

local report = { scenario = scenario, notes = {}, selects = {} }
local v = vim.version()
report.nvim = v.major .. "." .. v.minor .. "." .. v.patch

local function messages()
  local ok, out = pcall(api.nvim_exec, "messages", true)
  return ok and out or ""
end

local function done(ok, why)
  report.ok, report.why = ok, why
  report.messages = messages()
  local f = assert(io.open(report_path, "w"))
  f:write(vim.fn.json_encode(report))
  f:close()
  if ok then
    vim.cmd("qall!")
  else
    vim.cmd("cquit! 1")
  end
end

-- Record what the plugin tells the user, and keep Neovim's own behaviour.
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(report.notes, { msg = msg, level = level })
  return notify(msg, level, opts)
end

local function guard(f)
  local ok, err = xpcall(f, debug.traceback)
  if not ok then
    done(false, "the test script failed: " .. tostring(err))
  end
end

guard(function()
  vim.cmd("runtime plugin/openhands.lua")
  report.commands = {}
  for _, c in ipairs({ "OpenHands", "OpenHandsReply", "OpenHandsStop", "OpenHandsResume", "OpenHandsPanel",
    "OpenHandsLog", "OpenHandsTranscript", "OpenHandsChanges" }) do
    report.commands[c] = vim.fn.exists(":" .. c) == 2
  end

  if scenario == "load" then
    report.modules = {}
    for _, path in ipairs(api.nvim_get_runtime_file("lua/openhands/*.lua", true)) do
      local name = "openhands." .. vim.fn.fnamemodify(path, ":t:r")
      if name == "openhands.init" then
        name = "openhands"
      end
      local ok, err = pcall(require, name)
      report.modules[name] = ok and true or tostring(err)
    end
    -- The help file's tags build without errors (into a copy: the plugin directory stays clean).
    local doc = api.nvim_get_runtime_file("doc/openhands.txt", false)[1]
    local tmp = os.getenv("OH_TMP") .. "/doc"
    vim.fn.mkdir(tmp, "p")
    vim.fn.writefile(vim.fn.readfile(doc), tmp .. "/openhands.txt")
    vim.cmd("helptags " .. vim.fn.fnameescape(tmp))
    report.tags = vim.fn.readfile(tmp .. "/tags")
    -- The echo never needs more than the echo area: one line, cut to 'echospace'.
    vim.o.columns = 40
    report.echospace = vim.v.echospace
    report.fit = require("openhands.status").fit(("step "):rep(30) .. "\nsecond line")
    return done(true)
  end

  if scenario == "offline" then
    -- The renderer and the approval prompt on their own, fed the shapes of editors/vscode/src/protocol.ts.
    local panel = require("openhands.panel")
    local function up(u)
      panel.session_update({ sessionId = "c1", _meta = { seq = 1, taskId = "t1" }, update = u })
    end
    local text = function(t)
      return { type = "text", text = t }
    end
    up({ sessionUpdate = "user_message_chunk", content = text("fix the build") })
    up({ sessionUpdate = "agent_message_chunk", content = text("Looking.") })
    up({ sessionUpdate = "agent_thought_chunk", content = text("It fails to link.\nTry again.") })
    up({ sessionUpdate = "tool_call", toolCallId = "call_1", title = "$ make &&…", kind = "execute",
      status = "in_progress", rawInput = { command = "make &&\nmake test" } })
    up({ sessionUpdate = "tool_call_update", toolCallId = "call_1", status = "failed",
      content = { { type = "content", content = text("ld: error\nmake: *** [all] Error 2\n") } },
      rawOutput = { exitCode = 2 } })
    up({ sessionUpdate = "tool_call", toolCallId = "call_2", title = "str_replace Makefile", kind = "edit",
      status = "in_progress", content = { { type = "diff", path = "Makefile", oldText = "a\nb", newText = "a\nc" } } })
    up({ sessionUpdate = "agent_message_chunk", content = text("Edited.") })
    up({ sessionUpdate = "tool_call_update", toolCallId = "call_2", status = "completed",
      content = { { type = "diff", path = "Makefile", oldText = "a\nb\n", newText = "a\nc\n" } } })
    up({ sessionUpdate = "tool_call", toolCallId = "call_3", title = "read notes", kind = "read", status = "in_progress" })
    up({ sessionUpdate = "agent_message_chunk", content = text("Read.") })
    up({ sessionUpdate = "tool_call_update", toolCallId = "call_3", status = "completed",
      content = { { type = "content", content = text("one\ntwo") } } })
    up({ sessionUpdate = "tool_call_update", toolCallId = "call_99", status = "completed",
      content = { { type = "content", content = text("Your thought has been logged.") } } })
    up({ sessionUpdate = "plan", entries = {
      { content = "Link", priority = "high", status = "completed" },
      { content = "Test", priority = "medium", status = "in_progress" },
      { content = "Ship", priority = "low", status = "pending" } } })
    up({ sessionUpdate = "usage_update", promptTokens = 1200, completionTokens = 80, cost = { amount = 0.0123, currency = "USD" } })
    report.rendered = api.nvim_buf_get_lines(panel.buf(), 0, -1, false)
    report.folds = panel.doc().folds
    -- :OpenHandsPanel toggles the panel's window; a new window gets the folds back.
    vim.cmd("OpenHandsPanel")
    report.toggled_open = panel.window() ~= nil
    report.closed_after_toggle = {}
    if panel.window() then
      api.nvim_win_call(panel.window(), function()
        for l = 1, api.nvim_buf_line_count(panel.buf()) do
          if vim.fn.foldclosed(l) == l then
            table.insert(report.closed_after_toggle, { l, vim.fn.foldclosedend(l) })
          end
        end
      end)
    end
    vim.cmd("OpenHandsPanel")
    report.toggled_closed = panel.window() == nil

    -- An approval with the panel closed: a float shows the command and the diff while vim.ui.select asks.
    vim.ui.select = function(items, opts, on_choice)
      local floats = {}
      for _, w in ipairs(api.nvim_list_wins()) do
        if api.nvim_win_get_config(w).relative ~= "" then
          floats[#floats + 1] = api.nvim_buf_get_lines(api.nvim_win_get_buf(w), 0, -1, false)
        end
      end
      table.insert(report.selects, { items = items, prompt = opts.prompt, kind = opts.kind, floats = floats })
      on_choice(nil)
    end
    local approvals = require("openhands.approvals")
    approvals.request({ approvalId = "a1", taskId = "t1", conversationId = "c1", toolCallId = "call_4",
      title = "$ rm a.txt", reason = "it deletes files", kind = "execute", command = "rm a.txt",
      diff = { path = "a.txt", oldText = "old", newText = "new" } })
    -- One the server resolved before the user was asked is not asked.
    approvals.resolved({ approvalId = "a2", taskId = "t1", decision = "timeout" })
    approvals.request({ approvalId = "a2", taskId = "t1", conversationId = "c1", toolCallId = "call_5",
      title = "$ git push", reason = "it pushes to a git remote", kind = "execute", command = "git push" })
    vim.wait(200)
    report.floats_after = #vim.tbl_filter(function(w)
      return api.nvim_win_get_config(w).relative ~= ""
    end, api.nvim_list_wins())
    report.after_approvals = api.nvim_buf_get_lines(panel.buf(), #report.rendered, -1, false)
    return done(true)
  end

  if scenario == "missing" then
    require("openhands").setup({ cmd = { "/nonexistent/openhands-lsp" } })
    vim.wait(100)
    vim.cmd("OpenHands do something")
    vim.wait(100)
    report.statusline = require("openhands").statusline()
    vim.cmd("checkhealth openhands")
    report.health = api.nvim_buf_get_lines(0, 0, -1, false)
    return done(true)
  end

  local ws = vim.fn.fnamemodify(file, ":p:h")
  vim.cmd("cd " .. vim.fn.fnameescape(ws))

  if scenario == "health" then
    require("openhands").setup({ cmd = { server }, base_url = base_url })
    vim.wait(10000, function()
      return require("openhands.client").get() ~= nil and require("openhands.client").get().initialized
    end, 20)
    vim.cmd("checkhealth openhands")
    report.health = api.nvim_buf_get_lines(0, 0, -1, false)
    return done(true)
  end

  if scenario == "editor_approval" then
    -- approval_ui = "editor": the server asks with window/showMessageRequest; the plugin asks the same way.
    local panel = require("openhands.panel")
    vim.ui.select = function(items, opts, on_choice)
      table.insert(report.selects, { items = items, prompt = opts.prompt, kind = opts.kind })
      on_choice(items[1], 1)
    end
    require("openhands").setup({ cmd = { server }, base_url = base_url, approval_ui = "editor" })
    -- At once, as from a mapping at start-up: the command waits for the server to be ready.
    vim.cmd("OpenHands clean up")
    report.finished = vim.wait(30000, function()
      return table.concat(api.nvim_buf_get_lines(panel.buf(), 0, -1, false), "\n"):find("OpenHands finished", 1, true) ~= nil
    end, 50)
    report.panel = api.nvim_buf_get_lines(panel.buf(), 0, -1, false)
    return done(true)
  end

  if scenario == "stop" then
    -- A task that runs a long command; :OpenHandsStop cancels it.
    local panel = require("openhands.panel")
    require("openhands").setup({ cmd = { server }, base_url = base_url, approvals = "never" })
    if not require("openhands.client").wait_initialized(15000) then
      return done(false, "the server did not initialize")
    end
    vim.cmd("OpenHands wait a while")
    local text = function()
      return table.concat(api.nvim_buf_get_lines(panel.buf(), 0, -1, false), "\n")
    end
    report.running = vim.wait(30000, function()
      return text():find("▶ $ sleep 30", 1, true) ~= nil
    end, 50)
    local started = vim.loop.hrtime()
    vim.cmd("OpenHandsStop")
    report.stopped = vim.wait(20000, function()
      return text():find("task cancelled", 1, true) ~= nil
    end, 50)
    report.stop_ms = math.floor((vim.loop.hrtime() - started) / 1e6)
    report.panel = api.nvim_buf_get_lines(panel.buf(), 0, -1, false)
    report.statusline = require("openhands").statusline()
    return done(true)
  end

  if scenario == "changes" or scenario == "changes_faults" then
    local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
    return dofile(here .. "/nvim_changes.lua")[scenario](report, done, server, base_url, file)
  end

  -- scenario == "task"
  local panel = require("openhands.panel")
  vim.ui.select = function(items, opts, on_choice)
    local shown = {}
    for i, item in ipairs(items) do
      shown[i] = opts.format_item and opts.format_item(item) or item
    end
    table.insert(report.selects, {
      items = shown,
      prompt = opts.prompt,
      kind = opts.kind,
      panel = api.nvim_buf_get_lines(panel.buf(), 0, -1, false),
    })
    -- The user allows each action once and resumes the first conversation.
    on_choice(items[1], 1)
  end

  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local buf = api.nvim_get_current_buf()
  api.nvim_buf_set_lines(buf, -1, -1, false, { os.getenv("OH_UNSAVED") })
  require("openhands").setup({
    cmd = { server },
    base_url = base_url,
    approvals = "always",
    panel = { position = "right", size = 70 },
  })
  local oh_client = require("openhands.client")
  if not oh_client.wait_initialized(15000) then
    return done(false, "the server did not initialize")
  end
  report.attached = vim.lsp.buf_is_attached(buf, oh_client.get().id)
  -- A file opened after setup() is attached too; a scratch buffer is not.
  vim.cmd("split " .. vim.fn.fnameescape(ws .. "/other.txt"))
  report.attached_later = vim.lsp.buf_is_attached(0, oh_client.get().id)
  vim.cmd("new")
  report.attached_scratch = vim.lsp.buf_is_attached(0, oh_client.get().id)
  vim.cmd("only")
  api.nvim_set_current_buf(buf)
  -- The task is about the first two lines: the selection's file and range go with the prompt.
  vim.cmd("1,2OpenHands " .. os.getenv("OH_PROMPT"))
  local function panel_text()
    return table.concat(api.nvim_buf_get_lines(panel.buf(), 0, -1, false), "\n")
  end
  local finished = vim.wait(60000, function()
    return panel_text():find("OpenHands finished", 1, true) ~= nil
  end, 50)
  -- Neovim sends the edited buffer's didChange after a short debounce; let it go out before reading.
  vim.wait(300)
  report.panel = api.nvim_buf_get_lines(panel.buf(), 0, -1, false)
  report.statusline = require("openhands").statusline()
  report.lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  report.modified = vim.bo[buf].modified
  if not finished then
    return done(false, "no 'OpenHands finished' in the panel within 60 s")
  end
  local win = panel.window()
  report.panel_open = win ~= nil
  report.closed_folds, report.highlights = {}, {}
  if win then
    api.nvim_win_call(win, function()
      for l = 1, api.nvim_buf_line_count(panel.buf()) do
        if vim.fn.foldclosed(l) == l then
          table.insert(report.closed_folds, { l, vim.fn.foldclosedend(l) })
        end
      end
    end)
  end
  local ns = require("openhands.doc").ns
  for _, m in ipairs(api.nvim_buf_get_extmarks(panel.buf(), ns, 0, -1, { details = true })) do
    local row, details = m[2], m[4]
    if details.hl_group then
      table.insert(report.highlights, { row + 1, details.hl_group })
    end
  end
  report.log = require("openhands.log").lines()
  vim.cmd("OpenHandsLog")
  report.log_window = api.nvim_buf_get_name(0)
  vim.cmd("close")
  vim.cmd("OpenHandsTranscript")
  report.transcript = api.nvim_buf_get_name(0)
  vim.cmd("OpenHandsResume")
  local replayed = vim.wait(10000, function()
    local text = panel_text()
    return #report.selects > 0 and report.selects[#report.selects].kind == "openhands.conversation"
      and text:find("You:", 1, true) ~= nil and text:find("OpenHands finished", 1, true) == nil
  end, 50)
  report.replayed = replayed
  report.panel_after_resume = api.nvim_buf_get_lines(panel.buf(), 0, -1, false)
  -- The user answers; the conversation goes on in the panel.
  vim.cmd("OpenHandsReply thanks, now say bye")
  report.replied = vim.wait(30000, function()
    return panel_text():find("OpenHands finished: bye", 1, true) ~= nil
  end, 50)
  report.panel_after_reply = api.nvim_buf_get_lines(panel.buf(), 0, -1, false)
  done(true)
end)
