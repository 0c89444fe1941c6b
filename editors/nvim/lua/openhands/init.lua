-- Why this file exists: the plugin's entry point. `require("openhands").setup{...}` starts openhands-lsp with
-- the rich channel, attaches it to the workspace's file buffers, and routes what the server sends to the panel,
-- the approval prompts, the log and the status line; the `:OpenHands*` commands call the functions below.
local client = require("openhands.client")
local panel = require("openhands.panel")
local status = require("openhands.status")
local log = require("openhands.log")
local approvals = require("openhands.approvals")
local changes = require("openhands.changes")

local M = {}
local api = vim.api

M.defaults = {
  cmd = { "openhands-lsp" }, -- the server: a path or a command list
  env = nil, -- extra environment for the server ({ LLM_API_KEY = ... })
  root_dir = nil, -- the workspace; default: the current directory at setup
  autostart = true, -- start the server in setup() (else at the first command)
  model = nil,
  llm = nil, -- a [llm.NAME] profile of the configuration files
  base_url = nil, -- the LLM's URL (an OpenAI-compatible or Anthropic server)
  runtime = nil, -- "local" | "remote" | "docker"
  runtime_url = nil,
  approvals = nil, -- "never" | "always" | "risky" (the server's default)
  approval_ui = "client", -- "client": openhands/approvalRequest; "editor": window/showMessageRequest (both asked here)
  max_iterations = nil,
  data_dir = nil,
  edit_timeout = nil, -- seconds the server waits for an edit to show in its buffer
  settings = nil, -- more initializationOptions.openhands keys, passed as they are
  panel = { position = "right", size = nil, open_on_task = true },
  echo = true, -- echo the task's state in one short line
  diagnostics = true, -- send the buffers' diagnostics (openhands/diagnostics): the agent hears what its edits broke
}

local config = nil

local option_keys = {
  model = "model",
  llm = "llm",
  base_url = "baseUrl",
  runtime = "runtime",
  runtime_url = "runtimeUrl",
  approvals = "approvals",
  approval_ui = "approvalUi",
  max_iterations = "maxIterations",
  data_dir = "dataDir",
  edit_timeout = "editTimeoutSeconds",
}

--- `initializationOptions.openhands` for `config`.
function M.server_options(cfg)
  local o = { ui = "rich" }
  for key, wire in pairs(option_keys) do
    if cfg[key] ~= nil then
      o[wire] = cfg[key]
    end
  end
  for k, v in pairs(cfg.settings or {}) do
    o[k] = v
  end
  return o
end

local function notify_error(text)
  -- One line through vim.notify: never a traceback, never more than the message.
  vim.schedule(function()
    vim.notify((tostring(text):gsub("\n.*", "")), vim.log.levels.ERROR)
  end)
end

-- Outcomes that `openhands/taskState` already put in the panel (servers before it sent only these messages).
local outcome_prefixes = { "OpenHands finished", "OpenHands asks", "OpenHands: task cancelled", "OpenHands failed",
  "OpenHands could not run the task" }

local function is_outcome(text)
  for _, p in ipairs(outcome_prefixes) do
    if text:sub(1, #p) == p then
      return true
    end
  end
  return false
end

local function show_message(params)
  local text = tostring(params.message or "")
  if not (status.has_task_state() and is_outcome(text)) then
    panel.renderer():status(text, params.type == 1 and "OpenHandsError" or nil)
  end
  status.echo(text, params.type == 1 and "ErrorMsg" or (params.type == 2 and "WarningMsg" or nil))
end

local state_groups = { error = "OpenHandsError", retrying = "OpenHandsRetry", stopped = "OpenHandsState" }

local function task_state(params)
  local terminal = status.task_state(params)
  if type(params) == "table" and type(params.message) == "string" and (terminal or params.state == "retrying") then
    panel.renderer():status(params.message, state_groups[params.state])
  end
  if terminal then
    changes.task_ended(params)
    changes.summary(params.taskId, function(line)
      panel.renderer():status(line)
    end)
  end
end

--- `window/showDocument` where Neovim has no handler (0.7): opens a `file://` document in the current window.
local function open_document(params)
  local uri = type(params) == "table" and params.uri or nil
  if type(uri) ~= "string" or not uri:match("^file://") or params.external then
    return { success = false }
  end
  vim.schedule(function()
    vim.cmd("edit " .. vim.fn.fnameescape(vim.uri_to_fname(uri)))
  end)
  return { success = true }
end

--- The client's capabilities: Neovim's, and `window/showDocument` on every version (0.7 does not say it has it;
--- the handler above does it there).
local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.window = caps.window or {}
  caps.window.showDocument = { support = true }
  return caps
end

local function handlers()
  local core = vim.lsp.handlers
  return {
    ["openhands/sessionUpdate"] = function(_, params)
      panel.session_update(params)
      changes.session_update(params)
    end,
    ["openhands/taskState"] = function(_, params)
      task_state(params)
    end,
    ["openhands/approvalRequest"] = function(_, params)
      approvals.request(params)
    end,
    ["openhands/approvalResolved"] = function(_, params)
      approvals.resolved(params)
    end,
    ["openhands/reviewUpdated"] = function(_, params)
      changes.reviewed(params)
    end,
    ["window/logMessage"] = function(_, params)
      log.append(params)
    end,
    ["window/showMessage"] = function(_, params)
      log.append(params)
      show_message(params)
    end,
    ["window/showDocument"] = function(err, params, ctx, cfg)
      -- A task's diff (openhands.task.diff from a code action) opens like the changes list opens it.
      if changes.show_document(params and params.uri) then
        return { success = true }
      end
      if core["window/showDocument"] then
        return core["window/showDocument"](err, params, ctx, cfg)
      end
      -- Neovim 0.7 has no handler of its own: a file is opened, anything else is refused.
      return open_document(params)
    end,
    ["window/showMessageRequest"] = function(err, params, ctx, cfg)
      local answer = approvals.legacy(params or {})
      if answer ~= nil then
        return answer
      end
      return core["window/showMessageRequest"](err, params, ctx, cfg)
    end,
    ["$/progress"] = function(err, params, ctx, cfg)
      status.progress(params)
      if core["$/progress"] then
        return core["$/progress"](err, params, ctx, cfg)
      end
    end,
  }
end

local known = {
  cmd = true,
  env = true,
  root_dir = true,
  autostart = true,
  settings = true,
  panel = true,
  echo = true,
  diagnostics = true,
}
for k in pairs(option_keys) do
  known[k] = true
end

local function validate(opts)
  local problems = {}
  for k in pairs(opts) do
    if not known[k] then
      problems[#problems + 1] = tostring(k)
    end
  end
  if #problems > 0 then
    table.sort(problems)
    notify_error("OpenHands: unknown setup() options: " .. table.concat(problems, ", "))
  end
end

local function resolve(opts)
  opts = opts or {}
  validate(opts)
  local cfg = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  if type(cfg.cmd) == "string" then
    cfg.cmd = { cfg.cmd }
  end
  cfg.root_dir = vim.fn.fnamemodify(cfg.root_dir or vim.fn.getcwd(), ":p"):gsub("/$", "")
  return cfg
end

local function lsp_config(cfg)
  return {
    name = "openhands",
    cmd = cfg.cmd,
    cmd_env = cfg.env,
    root_dir = cfg.root_dir,
    workspace_folders = { { uri = vim.uri_from_fname(cfg.root_dir), name = vim.fn.fnamemodify(cfg.root_dir, ":t") } },
    init_options = { openhands = M.server_options(cfg) },
    capabilities = capabilities(),
    handlers = handlers(),
    flags = { debounce_text_changes = 50 },
    on_exit = function(code, signal)
      if code ~= 0 and not (code == 143 or signal == 15) then
        vim.schedule(function()
          status.echo(("OpenHands: the server stopped (exit %s); :OpenHandsLog has its messages"):format(code), "ErrorMsg")
        end)
      end
    end,
  }
end

--- Starts the server (once); returns the client id, or nil after telling the user why not.
function M.start()
  if not config then
    M.setup({ autostart = false })
  end
  local id, why = client.start(lsp_config(config))
  if not id then
    notify_error(why)
  end
  return id
end

--- `require("openhands").setup{...}`: see `:help openhands-setup`.
function M.setup(opts)
  config = resolve(opts)
  status.echo_enabled = config.echo
  panel.configure(config.panel)
  local group = api.nvim_create_augroup("openhands", { clear = true })
  api.nvim_create_autocmd({ "BufReadPost", "BufNewFile", "BufEnter", "FileType" }, {
    group = group,
    callback = function(ev)
      if client.get() then
        client.attach(ev.buf)
      end
    end,
  })
  if config.diagnostics then
    require("openhands.diagnostics").follow(group)
  end
  api.nvim_create_autocmd("VimLeavePre", {
    group = group,
    callback = function()
      client.stop()
    end,
  })
  if config.autostart then
    M.start()
  end
end

function M.config()
  return config
end

--- Runs `f(id)` once the server is up; tells the user when it cannot start.
local function with_client(f)
  local id = client.get() and client.get().id or M.start()
  if not id then
    return
  end
  -- A command right after start-up waits for the server's answer to `initialize` (a second or so).
  if not client.wait_initialized(15000) then
    return notify_error("OpenHands: the server did not start within 15 s; :OpenHandsLog and :checkhealth openhands say why")
  end
  f(id)
end

local function report(what)
  return function(err, result)
    if err then
      notify_error("OpenHands: " .. what .. " failed: " .. tostring(err.message or err))
    end
    return result
  end
end

--- The LSP range of lines `line1`..`line2` (1-based) of `buf`, with the visual columns when they match.
local function selection_range(buf, line1, line2)
  local enc = client.offset_encoding()
  local function col(line, byte)
    local text = api.nvim_buf_get_lines(buf, line - 1, line, false)[1] or ""
    byte = math.min(byte, #text)
    if enc == "utf-8" then
      return byte
    end
    local ok, u32, u16 = pcall(vim.str_utfindex, text, byte)
    if not ok then
      return byte
    end
    return enc == "utf-32" and u32 or u16
  end
  local s, e = vim.fn.getpos("'<"), vim.fn.getpos("'>")
  local start_col, end_line, end_col = 0, line2, nil
  if vim.fn.visualmode() == "v" and s[2] == line1 and e[2] == line2 then
    start_col = col(line1, s[3] - 1)
    local text = api.nvim_buf_get_lines(buf, line2 - 1, line2, false)[1] or ""
    local last = e[3]
    -- The end is inclusive in Vim: step over its whole character.
    local char = vim.fn.strpart(text, last - 1, 1, 1)
    end_col = col(line2, last - 1 + math.max(#char, 1))
  else
    end_col = col(line2, math.huge)
  end
  return {
    start = { line = line1 - 1, character = start_col },
    ["end"] = { line = end_line - 1, character = end_col },
  }
end

--- `:OpenHands {prompt}`, with a range: the selection's file and lines go with the prompt.
function M.task(prompt, range)
  if not prompt or prompt:match("^%s*$") then
    vim.ui.input({ prompt = "OpenHands: " }, function(text)
      if text and text ~= "" then
        M.task(text, range)
      end
    end)
    return
  end
  with_client(function()
    local args = { prompt = prompt }
    if range then
      local buf = api.nvim_get_current_buf()
      client.attach(buf)
      args.uri = vim.uri_from_bufnr(buf)
      args.range = selection_range(buf, range[1], range[2])
    end
    if config.panel.open_on_task then
      panel.open(false)
    end
    client.execute("openhands.task.start", { args }, function(err, result)
      if err then
        return notify_error("OpenHands: the task did not start: " .. tostring(err.message))
      end
      status.set_task(result.taskId, result.conversationId)
      status.echo("OpenHands: task " .. tostring(result.taskId) .. " started")
    end)
  end)
end

--- `:OpenHandsReply {text}`: continues the conversation of the task that waits.
function M.reply(text)
  with_client(function()
    local cur = status.current()
    local args = cur and cur.taskId and { cur.taskId, text } or { text }
    client.execute("openhands.task.reply", args, function(err, result)
      if err then
        return notify_error("OpenHands: the reply failed: " .. tostring(err.message))
      end
      status.set_task(result.taskId, result.conversationId)
    end)
  end)
end

--- `:OpenHandsStop`: cancels the running task.
function M.stop()
  with_client(function()
    local cur = status.current()
    client.execute("openhands.task.cancel", cur and cur.taskId and { cur.taskId } or {}, report("stopping the task"))
  end)
end

local function replay(id)
  client.request("openhands/sessionHistory", { conversationId = id }, function(err, result)
    if err then
      return notify_error("OpenHands: the history did not load: " .. tostring(err.message))
    end
    panel.reset(id)
    panel.replay(result and result.updates or {})
    panel.open(false)
    status.echo("OpenHands: resumed " .. id .. "; :OpenHands {prompt} continues it")
  end)
end

--- `:OpenHandsResume [id]`: picks a stored conversation, continues it, and replays it into the panel.
function M.resume(id)
  with_client(function()
    if id and id ~= "" then
      client.execute("openhands.conversation.resume", { id }, function(err)
        if err then
          return notify_error("OpenHands: resume failed: " .. tostring(err.message))
        end
        replay(id)
      end)
      return
    end
    client.execute("openhands.conversation.list", {}, function(err, list)
      if err then
        return notify_error("OpenHands: the conversations did not load: " .. tostring(err.message))
      end
      if type(list) ~= "table" or #list == 0 then
        return status.echo("OpenHands: no stored conversations")
      end
      vim.ui.select(list, {
        prompt = "Resume which conversation?",
        kind = "openhands.conversation",
        format_item = function(c)
          return ("%s  [%s, %s]"):format(tostring(c.title), tostring(c.state), tostring(c.updatedAt))
        end,
      }, function(choice)
        if choice then
          M.resume(choice.conversationId)
        end
      end)
    end)
  end)
end

--- `:OpenHandsTranscript [id]`: the Markdown transcript of the conversation.
function M.transcript(id)
  local cur = status.current()
  id = (id and id ~= "") and id or panel.conversation() or (cur and cur.conversationId)
  if not id then
    return notify_error("OpenHands: no conversation yet; run :OpenHands first or pass its id")
  end
  local root = client.root() or (config and config.root_dir) or vim.fn.getcwd()
  local path = root .. "/.openhands/transcripts/" .. id .. ".md"
  if vim.fn.filereadable(path) ~= 1 then
    return notify_error("OpenHands: no transcript at " .. path)
  end
  vim.cmd("edit " .. vim.fn.fnameescape(path))
end

--- `:OpenHandsChanges [taskId|conversationId]`: the files the task changed, to diff, keep or revert.
function M.changes(target)
  with_client(function()
    changes.open(target)
  end)
end

M.toggle_panel = panel.toggle
M.open_log = log.open
M.statusline = status.statusline

return M
