-- Why this file exists: headless Neovim 0.11 with the plugin and a real language server (pyright) on a Python
-- file, for nvim_pyright.rs: pyright's diagnostics reach vim.diagnostic, the plugin forwards them, an agent
-- task edits the open buffer; what the user saw goes to OH_REPORT as JSON.
local api = vim.api
local report = { notes = {} }

local function done(ok, why)
  report.ok, report.why = ok, why
  local f = assert(io.open(os.getenv("OH_REPORT"), "w"))
  f:write(vim.json.encode(report))
  f:close()
  vim.cmd(ok and "qall!" or "cquit! 1")
end

local function diagnostics(buf)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    out[#out + 1] = { line = d.lnum + 1, source = d.source, message = d.message, severity = d.severity }
  end
  return out
end

local ok, err = xpcall(function()
  local ws = os.getenv("OH_WS")
  vim.cmd("cd " .. vim.fn.fnameescape(ws))
  vim.cmd("runtime plugin/openhands.lua")
  vim.cmd("edit app.py")
  local buf = api.nvim_get_current_buf()
  require("openhands").setup({
    cmd = { os.getenv("OH_LSP") },
    base_url = os.getenv("OH_BASE_URL"),
    approvals = "never",
  })
  if not require("openhands.client").wait_initialized(15000) then
    return done(false, "openhands-lsp did not initialize")
  end
  -- The user's own language server, the way a user starts it on 0.11.
  local pyright = vim.lsp.start({
    name = "pyright",
    cmd = { os.getenv("OH_PYRIGHT"), "--stdio" },
    root_dir = ws,
    settings = { python = { analysis = { typeCheckingMode = "basic", diagnosticMode = "openFilesOnly" } } },
  }, { bufnr = buf })
  report.pyright_client = pyright ~= nil
  -- Pyright's first diagnostics of the file (the pre-existing error) must be in before the task starts.
  report.before_ready = vim.wait(60000, function()
    return #vim.diagnostic.get(buf) > 0
  end, 50)
  report.before = diagnostics(buf)
  vim.wait(500)
  vim.cmd("OpenHands call add with a string")
  local panel = require("openhands.panel")
  report.finished = vim.wait(90000, function()
    local text = table.concat(api.nvim_buf_get_lines(panel.buf(), 0, -1, false), "\n")
    return text:find("OpenHands finished", 1, true) ~= nil
  end, 50)
  report.after = diagnostics(buf)
  report.lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  report.panel = api.nvim_buf_get_lines(panel.buf(), 0, -1, false)
  report.messages = api.nvim_exec2 and api.nvim_exec2("messages", { output = true }).output or ""
  done(true)
end, debug.traceback)
if not ok then
  done(false, "the test script failed: " .. tostring(err))
end
