-- Headless Neovim as the user's editor: starts openhands-lsp, opens a file, runs openhands.task.start, and
-- records what Neovim's own LSP handlers receive; writes a JSON report and quits (exit 1 on failure).
-- Works on Neovim 0.7 (start_client) and newer (vim.lsp.start). Env: OH_LSP (server binary), OH_FILE (file
-- to open), OH_REPORT (report path), OH_PROMPT (the task), OH_UNSAVED (a line the user adds without saving).
local server = os.getenv("OH_LSP")
local file = os.getenv("OH_FILE")
local report_path = os.getenv("OH_REPORT")
local prompt = os.getenv("OH_PROMPT")
local started = vim.loop.hrtime()
local seen = {}

local function note(kind, data)
  table.insert(seen, { ms = math.floor((vim.loop.hrtime() - started) / 1e6), kind = kind, data = data })
end

local function done(ok, why)
  local f = assert(io.open(report_path, "w"))
  local v = vim.version()
  local buf = vim.fn.bufnr(file)
  f:write(vim.fn.json_encode({ ok = ok, why = why, nvim = v.major .. "." .. v.minor .. "." .. v.patch, seen = seen,
    lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false), modified = vim.bo[buf].modified }))
  f:close()
  if ok then vim.cmd("qall!") else vim.cmd("cquit! 1") end
end

-- Keep Neovim's default behaviour for each message; only record it on the way.
for _, method in ipairs({ "$/progress", "window/workDoneProgress/create", "window/showMessage", "window/logMessage",
  "workspace/applyEdit" }) do
  local default = vim.lsp.handlers[method]
  vim.lsp.handlers[method] = function(err, result, ctx, config)
    note(method, result)
    if default then return default(err, result, ctx, config) end
    return vim.NIL
  end
end

vim.cmd("edit " .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
local unsaved = os.getenv("OH_UNSAVED")
if unsaved then vim.api.nvim_buf_set_lines(buf, -1, -1, false, { unsaved }) end
local config = { name = "openhands", cmd = { server }, root_dir = vim.fn.fnamemodify(file, ":p:h") }
local id
if vim.lsp.start then
  id = vim.lsp.start(config, { bufnr = buf })
else
  id = vim.lsp.start_client(config)
  vim.lsp.buf_attach_client(buf, id)
end

if not vim.wait(15000, function()
  local c = vim.lsp.get_client_by_id(id)
  return c ~= nil and c.initialized
end, 20) then
  return done(false, "the server did not initialize")
end

local answer
vim.lsp.get_client_by_id(id).request("workspace/executeCommand",
  { command = "openhands.task.start", arguments = { prompt } },
  function(err, result) answer = { err = err, result = result }; note("executeCommand", answer) end, buf)

local finished = vim.wait(60000, function()
  for _, s in ipairs(seen) do
    if s.kind == "window/showMessage" and type(s.data) == "table" and tostring(s.data.message):find("OpenHands finished", 1, true) then
      return true
    end
  end
  return false
end, 50)
if not finished then return done(false, "no 'finished' message within 60 s") end
if not answer or answer.err then return done(false, "executeCommand failed") end
done(true, nil)
