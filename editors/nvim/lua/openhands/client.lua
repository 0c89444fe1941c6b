-- Why this file exists: one `openhands-lsp` client per Neovim, started and attached the same way from
-- Neovim 0.7 (start_client, buf_attach_client, `client.request`) to 0.11+ (vim.lsp.start, `client:request`).
local M = {}
local api = vim.api

local has_011 = vim.fn.has("nvim-0.11") == 1

local state = { id = nil, root = nil, config = nil, error = nil }

--- Calls a client method with `:` on 0.11+ (where `.` is deprecated) and `.` before.
local function call(client, method, ...)
  if has_011 then
    return client[method](client, ...)
  end
  return client[method](...)
end

function M.get()
  if not state.id then
    return nil
  end
  local c = vim.lsp.get_client_by_id(state.id)
  if c == nil or (c.is_stopped and call(c, "is_stopped")) then
    return nil
  end
  return c
end

function M.root()
  return state.root
end

--- The reason the server could not start, if it did not.
function M.error()
  return state.error
end

--- Whether `buf` is a file buffer inside the workspace.
local function in_workspace(buf)
  if not api.nvim_buf_is_loaded(buf) or vim.bo[buf].buftype ~= "" then
    return false
  end
  local name = api.nvim_buf_get_name(buf)
  if name == "" or name:match("^%a[%w+.-]*://") then
    return false
  end
  local path = vim.fn.fnamemodify(name, ":p")
  local root = state.root:gsub("/$", "") .. "/"
  return path:sub(1, #root) == root
end

--- Attaches the client to `buf` when it is a file in the workspace.
function M.attach(buf)
  local c = M.get()
  if not c or not in_workspace(buf) then
    return false
  end
  if vim.lsp.buf_is_attached(buf, c.id) then
    return true
  end
  return vim.lsp.buf_attach_client(buf, c.id)
end

--- Starts the server with `config` (see init.lua) unless it runs; returns the client id or nil and why.
function M.start(config)
  local running = M.get()
  if running then
    return running.id
  end
  state.config = config
  state.root = config.root_dir
  local exe = config.cmd[1]
  if vim.fn.executable(exe) ~= 1 then
    state.error = ("OpenHands: cannot start the server: `%s` is not an executable file; install openhands-lsp "
      .. "or set cmd in require('openhands').setup{}"):format(exe)
    return nil, state.error
  end
  local ok, id = pcall(function()
    if has_011 then
      return vim.lsp.start(config, { attach = false })
    end
    return vim.lsp.start_client(config)
  end)
  if not ok or not id then
    state.error = "OpenHands: cannot start the server: " .. tostring(ok and "it did not start" or id):gsub("\n.*", "")
    return nil, state.error
  end
  state.id, state.error = id, nil
  for _, buf in ipairs(api.nvim_list_bufs()) do
    M.attach(buf)
  end
  return id
end

--- Stops the server (shutdown, then exit).
function M.stop()
  local c = M.get()
  if c then
    call(c, "stop")
  end
  state.id = nil
end

--- Waits up to `ms` for the server to initialize (for callers that must not race it).
function M.wait_initialized(ms)
  return vim.wait(ms or 10000, function()
    local c = M.get()
    return c ~= nil and c.initialized == true
  end, 20)
end

--- Sends `method` with `params`; `cb(err, result)` runs on the answer.
function M.request(method, params, cb)
  local c = M.get()
  if not c then
    cb({ message = state.error or "OpenHands: the server is not running (:checkhealth openhands)" })
    return
  end
  local ok, sent = pcall(call, c, "request", method, params, function(err, result)
    cb(err, result)
  end)
  if not ok or sent == false then
    cb({ message = "OpenHands: the server is not running" })
  end
end

--- Sends the notification `method` with `params` when the server runs.
function M.notify(method, params)
  local c = M.get()
  if c then
    pcall(call, c, "notify", method, params)
  end
end

--- `workspace/executeCommand`.
function M.execute(command, arguments, cb)
  M.request("workspace/executeCommand", { command = command, arguments = arguments }, cb)
end

--- The client's position encoding ("utf-16" on 0.7).
function M.offset_encoding()
  local c = M.get()
  return c and c.offset_encoding or "utf-16"
end

return M
