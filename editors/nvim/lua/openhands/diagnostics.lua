-- Why this file exists: the agent hears what the user's language servers say about its edits. Each change of
-- a workspace buffer's diagnostics (vim.diagnostic, any source but ours) goes to openhands-lsp as the opt-in
-- `openhands/diagnostics {uri, diagnostics}` notification, in LSP's shape. Neovim 0.7 to 0.11+.
local M = {}
local api = vim.api

local client = require("openhands.client")

--- vim.diagnostic's items as LSP Diagnostics (0-based lines and columns, numeric severities).
local function to_lsp(items)
  local out = {}
  for _, d in ipairs(items) do
    table.insert(out, {
      range = {
        start = { line = d.lnum, character = d.col or 0 },
        ["end"] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col or 0 },
      },
      severity = d.severity,
      source = d.source,
      message = d.message,
    })
  end
  return out
end

--- Sends `buf`'s diagnostics when the server is attached to it.
function M.send(buf)
  local c = client.get()
  if not c or not api.nvim_buf_is_valid(buf) or not vim.lsp.buf_is_attached(buf, c.id) then
    return
  end
  local ok, items = pcall(vim.diagnostic.get, buf)
  if not ok then
    return
  end
  client.notify("openhands/diagnostics", { uri = vim.uri_from_bufnr(buf), diagnostics = to_lsp(items) })
end

--- Follows every buffer's diagnostics in `group`.
function M.follow(group)
  api.nvim_create_autocmd("DiagnosticChanged", {
    group = group,
    callback = function(ev)
      M.send(ev.buf)
    end,
  })
end

return M
