-- Why this file exists: `:OpenHandsLog`. Core's `:LspLog` is a file of RPC traces, not the server's messages;
-- this keeps every `window/logMessage` (and `window/showMessage`) in a scratch buffer the user can open.
local M = {}
local api = vim.api

local buf = nil
local kinds = { "ERROR", "WARN", "INFO", "LOG" }

local function buffer()
  if buf and api.nvim_buf_is_valid(buf) then
    return buf
  end
  buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_name(buf, "openhands://log")
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].modifiable = false
  return buf
end

--- Appends one message (`{type, message}` as LSP sends it).
function M.append(params)
  if type(params) ~= "table" then
    return
  end
  local b = buffer()
  local lines = vim.split(tostring(params.message or ""), "\n", true)
  lines[1] = ("[%s] %s %s"):format(os.date("%H:%M:%S"), kinds[params.type] or "INFO", lines[1])
  for i = 2, #lines do
    lines[i] = "    " .. lines[i]
  end
  local empty = api.nvim_buf_line_count(b) == 1 and api.nvim_buf_get_lines(b, 0, 1, false)[1] == ""
  vim.bo[b].modifiable = true
  api.nvim_buf_set_lines(b, empty and 0 or -1, -1, false, lines)
  vim.bo[b].modifiable = false
end

function M.lines()
  return api.nvim_buf_get_lines(buffer(), 0, -1, false)
end

--- `:OpenHandsLog`: the log in a split, at its end.
function M.open()
  local b = buffer()
  vim.cmd("botright split")
  api.nvim_win_set_buf(0, b)
  api.nvim_win_set_cursor(0, { api.nvim_buf_line_count(b), 0 })
end

return M
