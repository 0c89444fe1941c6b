-- Why this file exists: Neovim 0.7 and core 0.11 show no `$/progress`, so the task's state and step live
-- here, for `require("openhands").statusline()` and for a short echo that can never raise a hit-enter prompt.
local M = {}

local current = nil -- { taskId, conversationId, state, step, maxIterations, message }
local seen_task_state = false
M.echo_enabled = true

--- The text fits the echo area: one line, cut to 'echospace' display cells.
function M.fit(text)
  text = tostring(text or ""):gsub("[\r\n].*$", ""):gsub("%s+$", "")
  local room = (vim.v.echospace or 0) - 1
  if room <= 0 then
    return ""
  end
  if vim.fn.strdisplaywidth(text) > room then
    local cut = vim.fn.strcharpart(text, 0, room - 1)
    while vim.fn.strdisplaywidth(cut) > room - 1 do
      cut = vim.fn.strcharpart(cut, 0, vim.fn.strchars(cut) - 1)
    end
    text = cut .. "…"
  end
  return text
end

--- Echoes one line without adding it to the message history (so nothing ever asks to press Enter).
function M.echo(text, group)
  if not M.echo_enabled then
    return
  end
  vim.schedule(function()
    local line = M.fit(text)
    if line ~= "" and vim.fn.mode() ~= "c" then
      vim.api.nvim_echo({ { line, group or "None" } }, false, {})
    end
  end)
end

local terminal = { finished = true, stopped = true, error = true, awaiting_user_input = true }

--- `openhands/taskState`.
function M.task_state(s)
  if type(s) ~= "table" then
    return
  end
  seen_task_state = true
  current = {
    taskId = s.taskId,
    conversationId = s.conversationId,
    state = tostring(s.state or "running"),
    step = tonumber(s.step) or 0,
    maxIterations = tonumber(s.maxIterations) or 0,
    message = type(s.message) == "string" and s.message or nil,
  }
  local group = (current.state == "error" and "ErrorMsg") or (current.state == "awaiting_approval" and "WarningMsg")
    or nil
  -- An outcome is a sentence of its own ("OpenHands finished: ..."); a step says where the task is.
  M.echo(terminal[current.state] and current.message or M.line(), group)
  M.redraw()
  return terminal[current.state]
end

--- Every window's status line shows the new state, not only the current one's.
function M.redraw()
  if M.redraw_pending then
    return
  end
  M.redraw_pending = true
  vim.schedule(function()
    M.redraw_pending = false
    vim.cmd("redrawstatus!")
  end)
end

--- Whether the server sends `openhands/taskState` (then `$/progress` is not needed for the state).
function M.has_task_state()
  return seen_task_state
end

--- `$/progress` on `openhands/task/<id>` (the servers before `openhands/taskState`): `[step/limit] what`.
function M.progress(params)
  if type(params) ~= "table" or type(params.token) ~= "string" then
    return
  end
  local task = params.token:match("^openhands/task/(.+)$")
  if seen_task_state then
    return
  end
  local v = params.value
  if not task or type(v) ~= "table" then
    return
  end
  local message = v.message or v.title or ""
  local step, limit = tostring(message):match("^%[(%d+)/(%d+)%]")
  current = current and current.taskId == task and current or { taskId = task, step = 0, maxIterations = 0 }
  current.state = v.kind == "end" and "finished" or "running"
  current.step = tonumber(step) or current.step
  current.maxIterations = tonumber(limit) or current.maxIterations
  current.message = (tostring(message):gsub("^%[%d+/%d+%]%s*", ""))
  M.redraw()
end

--- The task the plugin follows (the last one started or reported).
function M.current()
  return current
end

function M.set_task(task_id, conversation_id)
  if current and current.taskId == task_id then
    return
  end
  current = { taskId = task_id, conversationId = conversation_id, state = "starting", step = 0, maxIterations = 0 }
  M.redraw()
end

--- `OpenHands: running [3/100] what it does`, or "" with no task.
function M.line()
  if not current then
    return ""
  end
  local text = "OpenHands: " .. current.state:gsub("_", " ")
  if current.maxIterations and current.maxIterations > 0 then
    text = text .. (" [%d/%d]"):format(current.step or 0, current.maxIterations)
  end
  if current.message and current.message ~= "" then
    text = text .. " " .. current.message
  end
  return text
end

--- For 'statusline': the state and step, short, with no message.
function M.statusline()
  if not current then
    return ""
  end
  local text = "OpenHands: " .. current.state:gsub("_", " ")
  if current.maxIterations and current.maxIterations > 0 then
    text = text .. (" %d/%d"):format(current.step or 0, current.maxIterations)
  end
  return text
end

return M
